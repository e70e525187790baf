"""Stored files per tenant, each message with its own type (security round three, item 7).

Identical bytes used to be stored once for everybody, and the first sender's type applied to every later
message: an HTML document was served as `video/mp4`, and a tenant could tell that another had stored a file.
Now content addressing stops at the tenant (two tenants, two rows and two files), and a message is served
with the type it claimed itself, checked against the bytes when its file was stored."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from iaze.lib import blobs
from tests import factories as f
from tests.whatsapp.conftest import post_meta
from tests.whatsapp.media_helpers import HTML, jpeg_bytes, media_url, meta_media, run_worker, stored_files
from tickets import services
from tickets.media import store as media
from tickets.media.serving import media_response
from tickets.models import MediaFile, Message
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db

# An MP4 box header and then an HTML page: a valid claim of video/mp4 (its first bytes are an MP4's), and the
# page a browser would run if it were ever served as text/html inline.
POLYGLOT = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + HTML


@pytest.fixture
def media_root(settings):
    from pathlib import Path

    return Path(settings.STORAGES["media"]["OPTIONS"]["location"])


@pytest.fixture
def b_live(outsider, fake) -> Connection:
    """Tenant B's Meta connection on the fake provider (tenant A is meta_live's)."""
    return f.make_connection(
        outsider.reseller,
        outsider.department,
        key="b-live",
        phone_number_id="300000000000003",
        app_secret="b-secret",
        access_token="b-token",
        api_base_url=fake.url + "/v21.0",
    )


def inbound(client, fake, connection, content, *, kind, mime, filename=None) -> Message:
    body, media_id = meta_media(connection, kind=kind, content=content, mime=mime, filename=filename)
    fake.add_media(media_id, content, mime)
    assert post_meta(client, connection, body).status_code == 200
    return Message.objects.get(connection=connection, media__id=media_id)


def fetch(client, user, message):
    client.force_login(user)
    response = client.get(media_url(message))
    assert response.status_code == 200
    return response, b"".join(response.streaming_content)


@pytest.mark.parametrize("first", ["A", "B"])
def test_the_same_bytes_sent_as_a_video_to_a_and_as_html_to_b_are_each_served_with_their_own_type(
    client, fake, meta_live, b_live, agent1, outsider, media_root, first
):
    def send_a():
        return inbound(client, fake, meta_live, POLYGLOT, kind="video", mime="video/mp4")

    def send_b():
        return inbound(client, fake, b_live, POLYGLOT, kind="document", mime="text/html", filename="pagina.html")

    if first == "A":
        a, b = send_a(), send_b()
    else:
        b, a = send_b(), send_a()
    assert run_worker()["stored"] == 2
    a.refresh_from_db()
    b.refresh_from_db()
    # Two tenants, two rows and two files, though the bytes are the same.
    sha = hashlib.sha256(POLYGLOT).hexdigest()
    assert a.media_file_id != b.media_file_id
    assert {(m.reseller_id, m.sha256) for m in MediaFile.objects.all()} == {
        (meta_live.reseller_id, sha),
        (b_live.reseller_id, sha),
    }
    assert a.media_file.storage_name != b.media_file.storage_name
    assert [p.read_bytes() for p in stored_files(media_root)] == [POLYGLOT, POLYGLOT]
    assert (a.file_type, b.file_type) == ("video/mp4", "text/html")

    response, data = fetch(client, agent1, a)
    assert data == POLYGLOT and response["Content-Type"] == "video/mp4"
    assert response["Content-Disposition"].startswith("inline")
    response, data = fetch(client, outsider.agent, b)
    assert data == POLYGLOT
    # Never a page of B's origin that runs: a download, of no type a browser renders, not sniffed, sandboxed.
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment") and "pagina.html" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
    page = client.get(f"/tickets/{b.ticket_id}/").content.decode()
    assert "<video" not in page and f'href="{media_url(b)}"' in page and "text/html" in page


def test_within_a_tenant_the_same_bytes_are_one_file_and_each_message_keeps_its_type(
    client, fake, meta_live, agent1, media_root
):
    video = inbound(client, fake, meta_live, POLYGLOT, kind="video", mime="video/mp4")
    page = inbound(client, fake, meta_live, POLYGLOT, kind="document", mime="text/html", filename="p.html")
    assert run_worker()["stored"] == 2
    video.refresh_from_db()
    page.refresh_from_db()
    assert video.media_file_id == page.media_file_id and MediaFile.objects.count() == 1
    assert len(stored_files(media_root)) == 1
    assert fetch(client, agent1, video)[0]["Content-Type"] == "video/mp4"
    assert fetch(client, agent1, page)[0]["Content-Type"] == "application/octet-stream"


def test_a_claim_whose_bytes_disagree_is_recorded_as_a_plain_download(client, fake, meta_live, agent1):
    """A message that calls an HTML page a video: the bytes are checked when stored, so it is not played."""
    message = inbound(client, fake, meta_live, HTML, kind="video", mime="video/mp4")
    run_worker()
    message.refresh_from_db()
    assert message.file_type == "application/octet-stream"
    response, _data = fetch(client, agent1, message)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_b_cannot_tell_that_a_stored_a_file_its_upload_is_stored_as_if_nobody_had(
    client, fake, meta_live, b_live, agent1, outsider, media_root
):
    """Whatever A stored, B's upload of the same bytes does the whole work again: its own row, its own file
    and thumbnail under B's name. Nothing B sees, or the time B waits, depends on A's files."""
    photo = jpeg_bytes()
    a_ticket = f.make_ticket(meta_live, agent=agent1)
    services.ticket_reply(
        ticket=a_ticket, agent=agent1, text="", upload=SimpleUploadedFile("a.jpg", photo, content_type="image/jpeg")
    )
    a_file = MediaFile.objects.get()
    written = []
    storage = blobs.media_storage()
    original_save = storage.save

    def save(name, content, **kw):
        written.append(name)
        return original_save(name, content, **kw)

    storage.save = save
    try:
        b_ticket = f.make_ticket(b_live, agent=outsider.agent)
        sent = services.ticket_reply(
            ticket=b_ticket,
            agent=outsider.agent,
            text="",
            upload=SimpleUploadedFile("b.jpg", photo, content_type="image/jpeg"),
        )
    finally:
        del storage.save
    b_file = sent.media_file
    assert b_file.pk != a_file.pk and b_file.reseller_id == b_live.reseller_id and b_file.sha256 == a_file.sha256
    prefix = media.tenant_prefix(b_live.reseller_id) + "/"
    assert written == [b_file.storage_name, b_file.thumbnail_name] and all(n.startswith(prefix) for n in written)
    assert MediaFile.objects.filter(pk=a_file.pk, reseller_id=meta_live.reseller_id).exists()
    response, data = fetch(client, outsider.agent, sent)
    assert data == photo and response["Content-Type"] == "image/jpeg"


def test_files_stored_before_addressing_was_per_tenant_are_still_served_and_kept(
    client, fake, meta_live, agent1, media_root
):
    """A row without a tenant under its old name (files/ab/cd/<sha256>) and a message without a recorded
    type: served with the message's own claim, checked against the bytes; never matched by a new store;
    counted by backup and the storage check."""
    from ops.backup.files import recorded_files, stored_file_problems

    blob = blobs.blob_put(blobs.chunks_of(POLYGLOT))
    assert blob.name == blobs.blob_name(blob.sha256)  # the old layout: no tenant in the name
    legacy = MediaFile.objects.create(sha256=blob.sha256, size=blob.size, mime_type="video/mp4", storage_name=blob.name)
    ticket = f.make_ticket(meta_live, agent=agent1)
    shown = {}
    for claim in ("video/mp4", "text/html"):
        message = services.message_store(
            ticket=ticket,
            msg=services.InboundMessage(
                provider_message_id=f"wamid.legacy-{claim}",
                kind="document",
                raw_type="document",
                media={"id": claim, "mime_type": claim},
            ),
        )
        Message.objects.filter(pk=message.pk).update(media_file=legacy)  # as stored before: no file_type
        message.refresh_from_db()
        assert message.file_type == ""
        shown[claim] = fetch(client, agent1, message)[0]["Content-Type"]
    assert shown == {"video/mp4": "video/mp4", "text/html": "application/octet-stream"}  # not the row's video/mp4

    fresh = media.media_file_store(POLYGLOT, reseller_id=meta_live.reseller_id, claimed_mime="video/mp4")
    assert fresh.pk != legacy.pk and fresh.storage_name.startswith(media.tenant_prefix(meta_live.reseller_id))
    assert {name for name, _sha in recorded_files()} >= {legacy.storage_name, fresh.storage_name}
    assert stored_file_problems() == []


def test_a_message_is_served_with_its_own_type_whatever_the_row_says(rf, meta_live, agent1, tenant):
    """The rule itself: the first claim stored with the bytes (the row's type) never decides another message's."""
    stored = media.media_file_store(POLYGLOT, reseller_id=tenant.reseller.pk, claimed_mime="video/mp4")
    ticket = f.make_ticket(meta_live, agent=agent1)
    message = services.message_store(
        ticket=ticket,
        msg=services.InboundMessage(
            provider_message_id="wamid.own-type",
            kind="document",
            raw_type="document",
            media={"id": "x", "mime_type": "text/html"},
        ),
    )
    Message.objects.filter(pk=message.pk).update(media_file=stored, file_type="text/html")
    message.refresh_from_db()
    assert stored.mime_type == "video/mp4"
    response = media_response(rf.get("/"), message)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
