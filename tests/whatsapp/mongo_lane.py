"""The WhatsApp ingest path on the MongoDB profile (mongomock behind the real backend).

Kept here, with the channel's tests; the mongodb-compat lane collects only tests/mongo, so a module
there imports this test (`from tests.whatsapp.mongo_lane import *`). It needs the lane's
`mongomock_db` fixture. Covered: journal dedup, Meta and Evolution ingest, client upsert,
receipts, connection state, and an outbox send to the fake provider.
"""

from django.utils import timezone

from accounts.models import Client
from tests import factories as f
from tests.fake_provider import FakeProvider
from tests.support.webhooks import meta_status, meta_text, raw_json
from tickets import outbox, services
from tickets.models import Message, Ticket
from whatsapp import journal
from whatsapp.models import Connection, WebhookEvent


def _journal_and_process(connection, raw: bytes) -> None:
    event, _created = journal.webhook_event_store(connection=connection, raw_body=raw)
    assert journal.webhook_event_process(event) == "processed", event.error


def test_whatsapp_ingest_on_mongomock(mongomock_db, settings):
    settings.WHATSAPP_SEND_INLINE = False
    reseller = f.make_reseller("demo")
    dept = f.make_department(reseller, "Suporte")
    agent = f.make_user("a@x.local", reseller=reseller, departments=[dept])
    now = int(timezone.now().timestamp())
    with FakeProvider() as fake:
        conn = f.make_connection(reseller, dept, key="demo-meta", api_base_url=fake.url)
        evo = f.make_connection(
            reseller, dept, key="demo-evo", provider=Connection.Provider.EVOLUTION, api_base_url=fake.url
        )
        for i in range(3):
            # Recent messages: a reply is only allowed inside the client's 24-hour window.
            body = meta_text(conn, wa_id="5511911110000", message_id=f"wamid.m{i}", name="Maria" if i else "", ts=now)
            raw = raw_json(body)
            for _ in range(2):  # every delivery twice: the journal and the message index dedup
                _journal_and_process(conn, raw)
        assert WebhookEvent.objects.count() == 3 and Message.objects.count() == 3 and Ticket.objects.count() == 1
        assert Client.objects.get().name == "Maria"
        ticket = services.ticket_claim(ticket=Ticket.objects.get(), agent=agent)
        m = services.ticket_reply(ticket=ticket, agent=agent, text="Olá")
        assert outbox.send_pending() == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}
        m.refresh_from_db()
        assert m.delivery_status == "sent"
        for status in ("read", "delivered"):
            _journal_and_process(conn, raw_json(meta_status(conn, m.provider_message_id, status)))
        m.refresh_from_db()
        assert m.delivery_status == "read"
        _journal_and_process(evo, raw_json(f.load_payload("evolution_connection_update_open.json")))
        evo.refresh_from_db()
        assert evo.state == "open"
        for name in ("evolution_messages_upsert_text.json", "evolution_messages_upsert_fromme_text.json"):
            _journal_and_process(evo, raw_json(f.load_payload(name)))
        assert Message.objects.filter(connection=evo).count() == 2
        assert len(journal.webhook_events_to_replay(everything=True)) == 8


def test_media_on_mongomock(mongomock_db, settings, tmp_path):
    """Media on the MongoDB profile: the job's lease and writes, a large body journaled by reference,
    the file itself outside the database (a document holds at most 16 MB)."""
    import hashlib

    from tests.whatsapp.media_helpers import evolution_media, jpeg_bytes, meta_media
    from tickets.models import MediaDownload, MediaFile
    from whatsapp import media_fetch as downloads

    settings.WHATSAPP_SEND_INLINE = False
    settings.WHATSAPP_WEBHOOK_INLINE_BODY_BYTES = 1024
    settings.STORAGES = {
        **settings.STORAGES,
        "media": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    reseller = f.make_reseller("demo")
    dept = f.make_department(reseller, "Suporte")
    agent = f.make_user("a@x.local", reseller=reseller, departments=[dept])
    photo = jpeg_bytes()
    with FakeProvider() as fake:
        conn = f.make_connection(reseller, dept, key="demo-meta", api_base_url=fake.url)
        evo = f.make_connection(
            reseller, dept, key="demo-evo", provider=Connection.Provider.EVOLUTION, api_base_url=fake.url
        )
        body, media_id = meta_media(conn, content=photo)
        fake.add_media(media_id, photo, "image/jpeg")
        fake.fail_next("500")
        for _ in range(2):
            _journal_and_process(conn, raw_json(body))
        video = bytes(range(256)) * 40
        envelope = evolution_media(content=video)
        envelope["apikey"] = evo.api_key
        _journal_and_process(evo, raw_json(envelope))
        event = WebhookEvent.objects.get(connection=evo)
        assert bytes(event.body) == b"" and event.body_file and event.body_size > 1024
        assert MediaDownload.objects.count() == 2
        assert downloads.media_downloads_run(ignore_backoff=True) == {
            "stored": 1,
            "retry": 1,
            "failed": 0,
            "skipped": 0,
        }
        assert downloads.media_downloads_run(ignore_backoff=True)["stored"] == 1
        assert MediaFile.objects.count() == 2
        assert {m.sha256 for m in MediaFile.objects.all()} == {
            hashlib.sha256(photo).hexdigest(),
            hashlib.sha256(video).hexdigest(),
        }
        ticket = services.ticket_claim(ticket=Ticket.objects.get(connection=conn), agent=agent)
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("a.jpg", photo, content_type="image/jpeg")
        sent = services.ticket_reply(ticket=ticket, agent=agent, text="veja", upload=upload)
        assert sent.media_file_id == Message.objects.get(connection=conn, direction="in").media_file_id
        assert outbox.send_pending()["sent"] == 1
        assert fake.sent_media()[0]["sha256"] == hashlib.sha256(photo).hexdigest()
        # Content addressing stops at the tenant: the same photo stored for another reseller is its own row
        # (the unique index is per tenant and SHA-256), the same tenant's again is the same row.
        from tickets.media import store as media

        other = f.make_reseller("outra")
        theirs = media.media_file_store(photo, reseller_id=other.pk, claimed_mime="image/jpeg")
        again = media.media_file_store(photo, reseller_id=other.pk, claimed_mime="image/png")
        assert theirs.pk == again.pk and theirs.pk != sent.media_file_id and theirs.reseller_id == other.pk
        assert MediaFile.objects.filter(sha256=hashlib.sha256(photo).hexdigest()).count() == 2
        assert sent.file_type == "image/jpeg"
