"""Outbound files (docs/media.md): `POST /tickets/<uuid>/responder/` multipart with `file` (+ `text`, the caption),
queued on the outbox first, sent once with each provider's upload step; refused over the provider's limits."""

import hashlib
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import factories as f
from tests.whatsapp.media_helpers import jpeg_bytes, media_url, png_bytes
from tickets import outbox
from tickets.models import MediaFile, Message

pytestmark = pytest.mark.django_db


def _reply(client, ticket, *, name, content, mime, text="", nonce="n1"):
    upload = SimpleUploadedFile(name, content, content_type=mime)
    return client.post(f"/tickets/{ticket.pk}/responder/", {"text": text, "nonce": nonce, "file": upload})


def test_meta_image_is_uploaded_then_sent_once(client, fake, meta_live, agent1):
    ticket = f.make_ticket(meta_live, agent=agent1)
    photo = jpeg_bytes()
    client.force_login(agent1)
    r = _reply(client, ticket, name="foto.jpg", content=photo, mime="image/jpeg", text="segue a foto")
    assert r.status_code == 303
    message = Message.objects.get(direction="out")
    assert message.kind == "image" and message.delivery_status == "queued" and message.text == "segue a foto"
    assert message.media_file.sha256 == hashlib.sha256(photo).hexdigest()
    assert fake.calls == []  # queued first (inline sends are off in tests)

    assert outbox.send_pending() == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}
    upload, send = fake.calls
    assert upload.path == f"/v21.0/{meta_live.phone_number_id}/media"
    assert upload.json["fields"] == {"messaging_product": "whatsapp", "type": "image/jpeg"}
    assert upload.json["file"]["sha256"] == hashlib.sha256(photo).hexdigest()
    assert send.json["type"] == "image" and send.json["image"]["caption"] == "segue a foto"
    assert send.json["to"] == ticket.client.wa_id
    assert fake.sent_media()[0]["sha256"] == hashlib.sha256(photo).hexdigest()
    assert outbox.send_pending() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}  # exactly once
    message.refresh_from_db()
    assert message.delivery_status == "sent" and message.provider_message_id
    # Sent files are kept like received ones, and shown in the thread.
    assert client.get(media_url(message)).status_code == 200


def test_meta_document_carries_its_filename(client, fake, meta_live, agent1):
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    pdf = b"%PDF-1.4 " + os.urandom(1000)
    _reply(client, ticket, name='../boleto "junho".pdf', content=pdf, mime="application/pdf")
    outbox.send_pending()
    send = fake.calls[-1].json
    assert send["type"] == "document" and send["document"]["filename"] == "boleto _junho_.pdf"
    assert "caption" not in send["document"]


def test_evolution_send_media_shape(client, fake, evo_live, agent1):
    ticket = f.make_ticket(evo_live, agent=agent1)
    client.force_login(agent1)
    photo = png_bytes()
    _reply(client, ticket, name="print.png", content=photo, mime="image/png", text="olha")
    assert outbox.send_pending()["sent"] == 1
    (call,) = fake.calls
    assert call.path == "/message/sendMedia/demo"
    assert set(call.json) == {"number", "mediatype", "mimetype", "caption", "media", "fileName"}
    assert call.json["mediatype"] == "image" and call.json["mimetype"] == "image/png"
    assert call.json["caption"] == "olha" and call.json["fileName"] == "print.png"
    assert fake.sent_media()[0]["sha256"] == hashlib.sha256(photo).hexdigest()


def test_provider_error_on_upload_is_retried_like_a_text(client, fake, meta_live, agent1):
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    _reply(client, ticket, name="a.jpg", content=jpeg_bytes(), mime="image/jpeg")
    fake.fail_next("500")
    assert outbox.send_pending()["retry"] == 1
    assert outbox.send_pending()["sent"] == 1
    assert len(fake.sent_media()) == 1


@pytest.mark.parametrize(
    "name, mime, size, reason",
    [
        ("grande.jpg", "image/jpeg", 6 * 1024 * 1024, "limite do WhatsApp para Imagem"),
        ("programa.exe", "application/x-msdownload", 1000, "não aceita arquivos do tipo"),
        ("pacote.zip", "application/zip", 1000, "não aceita arquivos do tipo"),
    ],
)
def test_over_the_limit_or_refused_type_answers_400_and_nothing_is_stored(
    client, fake, meta_live, agent1, name, mime, size, reason
):
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    content = os.urandom(size)
    if mime == "image/jpeg":  # a real JPEG over Meta's 5 MB: noise compresses badly
        import io

        from PIL import Image

        out = io.BytesIO()
        Image.frombytes("RGB", (2400, 1600), os.urandom(2400 * 1600 * 3)).save(out, "JPEG", quality=100)
        content = out.getvalue()
        assert len(content) > 5 * 1024 * 1024
    r = _reply(client, ticket, name=name, content=content, mime=mime)
    assert r.status_code == 400 and reason in r.content.decode()
    assert not Message.objects.filter(direction="out").exists() and MediaFile.objects.count() == 0
    assert fake.calls == []


def test_svg_claimed_as_image_is_sent_as_a_document_on_evolution(client, fake, evo_live, agent1):
    ticket = f.make_ticket(evo_live, agent=agent1)
    client.force_login(agent1)
    _reply(client, ticket, name="logo.jpg", content=b"<svg xmlns='http://www.w3.org/2000/svg'/>", mime="image/jpeg")
    message = Message.objects.get(direction="out")
    assert message.kind == "document" and message.media_file.mime_type == "application/octet-stream"


def test_double_submit_stores_one_message(client, fake, meta_live, agent1):
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    photo = jpeg_bytes()
    _reply(client, ticket, name="a.jpg", content=photo, mime="image/jpeg", nonce="same")
    _reply(client, ticket, name="a.jpg", content=photo, mime="image/jpeg", nonce="same")
    assert Message.objects.filter(direction="out").count() == 1 and MediaFile.objects.count() == 1


def test_caption_only_or_text_only_still_work(client, meta_live, agent1):
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    assert client.post(f"/tickets/{ticket.pk}/responder/", {"text": "", "nonce": "x"}).status_code == 400
    assert client.post(f"/tickets/{ticket.pk}/responder/", {"text": "só texto", "nonce": "y"}).status_code == 303
    assert Message.objects.get(direction="out").kind == "text"
