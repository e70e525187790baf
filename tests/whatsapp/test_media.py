"""Media kept for good (docs/media.md): inbound files downloaded by a durable job, stored by
their SHA-256, served only through the authorised view; each bad input of the issue has a test here."""

import base64
import hashlib
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from iaze.lib import blobs
from tests.fake_provider import LOOKASIDE_PATH
from tests.whatsapp.conftest import post_evolution, post_meta
from tests.whatsapp.media_helpers import (
    HTML,
    OGG,
    SVG,
    evolution_media,
    job_of,
    jpeg_bytes,
    media_url,
    meta_media,
    only_message,
    png_bytes,
    run_worker,
    stored_files,
)
from tickets.admin import MessageAdmin, retry_media_download
from tickets.media import downloads as media_downloads
from tickets.media import store as media
from tickets.models import MediaDownload, MediaFile, Message
from whatsapp import media_fetch as downloads
from whatsapp.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings) -> Path:
    return Path(settings.STORAGES["media"]["OPTIONS"]["location"])


def _meta_image(client, fake, meta_live, content, **kw):
    body, media_id = meta_media(meta_live, content=content, **kw)
    fake.add_media(media_id, content, kw.get("mime") or "image/jpeg")
    assert post_meta(client, meta_live, body).status_code == 200
    return only_message() if Message.objects.filter(direction="in").count() == 1 else None


def test_image_is_fetched_by_the_worker_not_the_webhook_then_served(client, fake, meta_live, agent1, media_root):
    photo = jpeg_bytes()
    message = _meta_image(client, fake, meta_live, photo, caption="nota fiscal")
    assert fake.calls == []  # the webhook's 200 never waited for the provider
    job = job_of(message)
    assert job.state == "pending" and message.media_file_id is None

    assert run_worker() == {"stored": 1, "retry": 0, "failed": 0, "skipped": 0}
    message.refresh_from_db()
    stored = message.media_file
    assert stored.sha256 == hashlib.sha256(photo).hexdigest() and stored.size == len(photo)
    assert stored.raster_image and stored.mime_type == "image/jpeg" and stored.thumbnail_name
    assert job_of(message).state == "stored"
    # Meta's two requests, both with the connection's token: the media id, then its URL.
    gets = [c for c in fake.calls if c.json is None]
    assert len(gets) == 2 and all(c.headers["Authorization"] == "Bearer meta-access-token" for c in gets)
    assert gets[0].path.endswith(f"/{message.media['id']}") and gets[1].path == LOOKASIDE_PATH
    assert parse_qs(gets[1].query)["mid"] == [message.media["id"]]  # Meta's URL followed with its query string

    client.force_login(agent1)
    r = client.get(media_url(message))
    assert r.status_code == 200 and b"".join(r.streaming_content) == photo
    assert r["Content-Type"] == "image/jpeg" and r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"].startswith("inline")
    thumb = client.get(media_url(message) + "?v=thumb")
    assert thumb.status_code == 200 and len(b"".join(thumb.streaming_content)) < len(photo)
    page = client.get(f"/tickets/{message.ticket_id}/").content.decode()
    assert f'src="{media_url(message)}?v=thumb"' in page and f'href="{media_url(message)}"' in page
    assert "nota fiscal" in page
    # Content-addressed within the tenant: the original under the tenant and its SHA-256, written once.
    assert stored.reseller_id == meta_live.reseller_id
    name = blobs.blob_name(stored.sha256, media.tenant_prefix(meta_live.reseller_id))
    assert stored.storage_name == name and (media_root / name).read_bytes() == photo


def test_expired_media_id_is_retried_then_failed_with_the_reason_and_the_message_still_shown(
    client, fake, meta_live, agent1, settings, admin_user, rf
):
    settings.MEDIA_DOWNLOAD_MAX_ATTEMPTS = 3
    body, media_id = meta_media(meta_live, content=b"never served", caption="comprovante")
    assert post_meta(client, meta_live, body).status_code == 200  # the fake has no such id: expired
    message = only_message()
    assert run_worker()["retry"] == 1
    job = job_of(message)
    assert job.state == "pending" and job.error_code == "100" and job.next_attempt_at > timezone.now()
    assert run_worker()["retry"] == 1
    assert run_worker()["failed"] == 1
    job = job_of(message)
    assert job.state == "failed" and job.attempts == 3 and "não está mais disponível" in job.error_text

    client.force_login(agent1)
    page = client.get(f"/tickets/{message.ticket_id}/").content.decode()
    assert "comprovante" in page and "indisponível:" in page and "não está mais disponível" in page
    assert "does not exist" not in page  # the provider's own words are never shown
    assert client.get(media_url(message)).status_code == 404  # nothing stored: nothing served

    # An admin retries it once the file is available again.
    fake.add_media(media_id, b"never served", "image/jpeg")
    request = rf.post("/")
    request.user = admin_user
    request._messages = type("M", (), {"add": lambda *a, **k: None})()
    retry_media_download(MessageAdmin(Message, None), request, Message.objects.filter(pk=message.pk))
    assert job_of(message).state == "pending" and job_of(message).attempts == 0
    assert run_worker()["stored"] == 1


def test_sha256_mismatch_is_not_accepted(client, fake, meta_live, settings, media_root):
    settings.MEDIA_DOWNLOAD_MAX_ATTEMPTS = 2
    photo = png_bytes()
    body, media_id = meta_media(meta_live, content=photo, mime="image/png")
    fake.add_media(media_id, photo, "image/png", sha256=hashlib.sha256(b"other bytes").hexdigest())
    post_meta(client, meta_live, body)
    assert run_worker()["retry"] == 1
    assert job_of(only_message()).error_code == "sha256_mismatch"
    assert run_worker()["failed"] == 1
    assert MediaFile.objects.count() == 0 and stored_files(media_root) == []


def test_webhook_sha256_in_base64_must_match_too(client, fake, meta_live):
    photo = png_bytes()
    body, media_id = meta_media(meta_live, content=b"what the client really sent", mime="image/png")
    fake.add_media(media_id, photo, "image/png")  # Meta's own hash matches its bytes, the webhook's does not
    post_meta(client, meta_live, body)
    assert run_worker()["retry"] == 1 and job_of(only_message()).error_code == "sha256_mismatch"


def test_url_expiring_between_the_two_requests_gets_a_fresh_one(client, fake, meta_live):
    photo = jpeg_bytes()
    message = _meta_image(client, fake, meta_live, photo)
    fake.expire_urls(1)
    assert run_worker()["stored"] == 1
    lookups = [c for c in fake.calls if c.json is None and c.path != LOOKASIDE_PATH]
    downloads_ = [c for c in fake.calls if c.path == LOOKASIDE_PATH]
    assert len(lookups) == 2 and [c.status for c in downloads_] == [404, 200]
    message.refresh_from_db()
    assert message.media_file.sha256 == hashlib.sha256(photo).hexdigest()


def test_a_media_url_on_an_internal_address_is_refused_failed_with_the_reason_and_nothing_fetched(
    client, fake, meta_live, settings, monkeypatch
):
    """Production rule (private hosts refused), with the fake's own address standing in for Graph's
    public one: the lookaside URL it hands over points at another loopback address (an internal service)."""
    from iaze.lib import outbound

    settings.ALLOW_PRIVATE_PROVIDER_HOSTS = False
    real = outbound.address_refused
    monkeypatch.setattr(outbound, "address_refused", lambda address: address != "127.0.0.1" and real(address))
    port = fake.url.rsplit(":", 1)[1]
    fake.media_url_base = f"http://127.0.0.2:{port}"
    message = _meta_image(client, fake, meta_live, jpeg_bytes())
    assert run_worker() == {"stored": 0, "retry": 0, "failed": 1, "skipped": 0}
    job = job_of(message)
    assert job.state == "failed" and job.error_code == "unsafe_url"
    assert job.error_text == "O provedor informou um endereço interno ou reservado; ele não foi acessado."
    assert [c.path for c in fake.calls] == [f"/v21.0/{message.media['id']}"]  # the lookup only: no download
    message.refresh_from_db()
    assert message.media_file_id is None


def test_provider_500_then_success(client, fake, meta_live):
    photo = jpeg_bytes()
    message = _meta_image(client, fake, meta_live, photo)
    fake.fail_next("500")
    assert run_worker() == {"stored": 0, "retry": 1, "failed": 0, "skipped": 0}
    assert job_of(message).error_code == "1"
    assert run_worker()["stored"] == 1
    assert job_of(message).attempts == 2 and job_of(message).error_code == ""


class Killed(BaseException):
    """What SIGKILL looks like from inside: no except clause runs, no cleanup happens."""


def test_worker_killed_mid_download_then_restarted_leaves_one_complete_file(
    client, fake, meta_live, media_root, monkeypatch
):
    photo = jpeg_bytes(1600, 1200)
    message = _meta_image(client, fake, meta_live, photo)
    real_chunks = blobs.chunks_of

    def dies_after_the_first_chunk(data):
        for n, chunk in enumerate(real_chunks(data)):
            if n == 1:
                raise Killed
            yield chunk[: len(chunk) // 2]

    monkeypatch.setattr(blobs, "chunks_of", dies_after_the_first_chunk)
    monkeypatch.setattr(blobs, "CHUNK", 4096)
    monkeypatch.setattr(blobs, "discard_temp", lambda path: None)  # a killed process cleans nothing up
    with pytest.raises(Killed):
        run_worker()
    monkeypatch.undo()
    assert stored_files(media_root) == []  # half a file exists only under a temporary name
    assert list((media_root / ".tmp").iterdir())
    job = job_of(message)
    assert job.state == "pending" and job.lease_until is not None
    assert run_worker()["skipped"] == 0 and downloads.media_download_run(job.pk) == "skipped"  # still leased

    MediaDownload.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # expired
    assert run_worker()["stored"] == 1
    files = stored_files(media_root)
    originals = [p for p in files if p.name == hashlib.sha256(photo).hexdigest()]
    assert len(originals) == 1 and originals[0].read_bytes() == photo
    assert MediaFile.objects.count() == 1


def test_two_workers_never_download_one_file_twice(client, fake, meta_live):
    message = _meta_image(client, fake, meta_live, jpeg_bytes())
    job = job_of(message)
    assert media_downloads.download_claim(job.pk) is not None
    assert media_downloads.download_claim(job.pk) is None  # the second worker finds it leased
    assert downloads.media_download_run(job.pk) == "skipped"


def test_same_media_delivered_twice_is_one_file(client, fake, meta_live, media_root):
    photo = jpeg_bytes()
    body, media_id = meta_media(meta_live, content=photo)
    fake.add_media(media_id, photo, "image/jpeg")
    assert post_meta(client, meta_live, body).status_code == 200
    assert post_meta(client, meta_live, body).json()["duplicate"] is True
    # The same bytes again in another message (forwarded by the client).
    other, other_id = meta_media(meta_live, content=photo)
    fake.add_media(other_id, photo, "image/jpeg")
    post_meta(client, meta_live, other)
    assert Message.objects.filter(direction="in").count() == 2 and MediaDownload.objects.count() == 2
    assert run_worker()["stored"] == 2
    assert MediaFile.objects.count() == 1
    assert len({m.media_file_id for m in Message.objects.filter(direction="in")}) == 1
    assert len([p for p in stored_files(media_root) if p.name == hashlib.sha256(photo).hexdigest()]) == 1


def test_file_over_the_cap_fails_without_retrying(client, fake, meta_live, settings, media_root):
    settings.MEDIA_MAX_BYTES = 10_000
    message = _meta_image(client, fake, meta_live, os.urandom(20_000))
    assert run_worker()["failed"] == 1
    job = job_of(message)
    assert job.state == "failed" and job.attempts == 1 and job.error_code == "too_large"
    assert stored_files(media_root) == []


@pytest.mark.parametrize("payload", [SVG, HTML], ids=["svg", "html"])
def test_a_jpg_that_is_really_svg_or_html_is_served_as_an_attachment(client, fake, meta_live, agent1, payload):
    message = _meta_image(client, fake, meta_live, payload, mime="image/jpeg", caption="foto.jpg")
    run_worker()
    message.refresh_from_db()
    assert message.media_file.raster_image is False
    client.force_login(agent1)
    r = client.get(media_url(message))
    assert r.status_code == 200 and b"".join(r.streaming_content) == payload
    assert r["Content-Disposition"].startswith("attachment")
    assert r["Content-Type"] == "application/octet-stream" and r["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r["Content-Security-Policy"]
    page = client.get(f"/tickets/{message.ticket_id}/").content.decode()
    assert f'<img src="{media_url(message)}' not in page and f'href="{media_url(message)}"' in page


def test_file_name_with_dots_quotes_and_control_characters_is_made_safe(client, fake, meta_live, agent1):
    pdf = b"%PDF-1.4\n" + os.urandom(2000)
    body, media_id = meta_media(
        meta_live, kind="document", content=pdf, mime="application/pdf", filename='../../etc/pa"ss\r\nwd\x00;x.pdf'
    )
    fake.add_media(media_id, pdf, "application/pdf")
    post_meta(client, meta_live, body)
    run_worker()
    message = only_message()
    client.force_login(agent1)
    r = client.get(media_url(message))
    disposition = r["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert ".." not in disposition and "/" not in disposition.split("filename", 1)[1]
    assert "\r" not in disposition and "\n" not in disposition and "\x00" not in disposition
    assert disposition.count('"') == 2  # only the quotes around the name
    assert 'filename="pa_ss_wd_x.pdf"' in disposition
    page = client.get(f"/tickets/{message.ticket_id}/").content.decode()
    assert "application/pdf" in page and "KB" in page  # a document link with its type and size


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("a\"b'c`.txt", "a_b_c_.txt"),
        ("nota\r\n\x07.pdf", "nota_.pdf"),
        ("...", "arquivo"),
        ("", "arquivo"),
        ("relatório final.pdf", "relatório final.pdf"),
    ],
)
def test_safe_filename(name, expected):
    assert blobs.safe_filename(name) == expected


def test_another_department_or_tenant_gets_404(client, fake, meta_live, agent1, agent3, outsider):
    message = _meta_image(client, fake, meta_live, jpeg_bytes())
    url = media_url(message)
    client.force_login(agent1)
    assert client.get(url).status_code == 404  # not stored yet
    run_worker()
    assert client.get(url).status_code == 200
    for user in (agent3, outsider.agent, outsider.reseller_user):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.logout()
    r = client.get(url)
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    # A message of a ticket named in another ticket's URL does not exist either.
    client.force_login(agent1)
    other = _other_ticket(meta_live)
    assert client.get(f"/tickets/{other.pk}/midia/{message.pk}/").status_code == 404


def _other_ticket(connection):
    from tests import factories as f

    return f.make_ticket(connection)


def test_audio_seeks_with_range_requests(client, fake, evo_live, agent1):
    body = evolution_media(kind="audioMessage", mime="audio/ogg; codecs=opus", content=OGG)
    body["data"]["message"]["audioMessage"]["ptt"] = True
    assert post_evolution(client, evo_live, body).status_code == 200
    assert run_worker()["stored"] == 1
    message = only_message()
    client.force_login(agent1)
    r = client.get(media_url(message), HTTP_RANGE="bytes=10-19")
    assert r.status_code == 206 and r["Content-Range"] == f"bytes 10-19/{len(OGG)}"
    assert b"".join(r.streaming_content) == OGG[10:20] and r["Accept-Ranges"] == "bytes"
    assert r["Content-Type"] == "audio/ogg; codecs=opus" and r["Content-Disposition"].startswith("inline")
    tail = client.get(media_url(message), HTTP_RANGE="bytes=-5")
    assert b"".join(tail.streaming_content) == OGG[-5:]
    assert client.get(media_url(message), HTTP_RANGE=f"bytes={len(OGG)}-").status_code == 416
    page = client.get(f"/tickets/{message.ticket_id}/").content.decode()
    assert f'<audio controls preload="metadata" src="{media_url(message)}" data-voice="1">' in page
    assert fake.calls == []  # the event carried the file: no call to Evolution


def test_evolution_without_base64_asks_get_base64_from_media_message(client, fake, evo_live):
    pdf = b"%PDF-1.7 " + os.urandom(500)
    body = evolution_media(kind="documentMessage", mime="application/pdf", content=pdf, inline=False)
    message_id = body["data"]["key"]["id"]
    fake.add_media(message_id, pdf, "application/pdf")
    post_evolution(client, evo_live, body)
    assert run_worker()["stored"] == 1
    (call,) = fake.calls
    assert call.path == "/chat/getBase64FromMediaMessage/demo"
    assert call.json == {"message": {"key": {"id": message_id}}} and call.headers["apikey"] == "evo-api-key"
    assert only_message().media_file.sha256 == hashlib.sha256(pdf).hexdigest()


@pytest.mark.parametrize("damage", ["truncated", "altered"])
def test_a_damaged_inline_base64_is_never_stored_the_gateway_is_asked_instead(client, fake, evo_live, damage):
    audio = b"OggS" + os.urandom(4000)
    body = evolution_media(kind="audioMessage", mime="audio/ogg; codecs=opus", content=audio)
    good = body["data"]["message"]["base64"]
    if damage == "truncated":
        body["data"]["message"]["base64"] = good[: len(good) // 2] + "...(truncated)"
    else:  # valid base64 of other bytes: only the fileSha256 can tell
        body["data"]["message"]["base64"] = base64.b64encode(b"OggS" + os.urandom(4000)).decode()
    fake.add_media(body["data"]["key"]["id"], audio, "audio/ogg; codecs=opus")
    post_evolution(client, evo_live, body)
    assert run_worker()["stored"] == 1
    (call,) = fake.calls
    assert call.path == "/chat/getBase64FromMediaMessage/demo"
    assert only_message().media_file.sha256 == hashlib.sha256(audio).hexdigest()


def test_a_gateway_answer_that_does_not_match_the_file_sha256_is_retried_not_stored(client, fake, evo_live):
    pdf = b"%PDF-1.7 " + os.urandom(500)
    body = evolution_media(kind="documentMessage", mime="application/pdf", content=pdf, inline=False)
    fake.add_media(body["data"]["key"]["id"], b"%PDF-1.7 other bytes", "application/pdf")
    post_evolution(client, evo_live, body)
    assert run_worker() == {"stored": 0, "retry": 1, "failed": 0, "skipped": 0}
    message = only_message()
    assert message.media_file is None and job_of(message).error_code == "sha256_mismatch"


def test_a_40mb_evolution_body_with_base64_video_is_journaled_by_reference_and_the_video_stored(
    client, fake, evo_live, media_root
):
    video = os.urandom(30 * 1024 * 1024)
    body = evolution_media(kind="videoMessage", mime="video/mp4", content=video, caption="o defeito")
    from tests.whatsapp.conftest import raw_json

    body["apikey"] = evo_live.api_key
    raw = raw_json(body)
    assert len(raw) > 40 * 1024 * 1024
    r = client.post(f"/whatsapp/webhook/{evo_live.key}/", data=raw, content_type="application/json")
    assert r.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == b"" and event.body_sha256 == hashlib.sha256(raw).hexdigest()
    assert event.body_size == len(raw) and (media_root / event.body_file).stat().st_size == len(raw)
    assert event.state == "processed"
    message = only_message()
    assert message.text == "o defeito" and message.media.get("inline_base64") is True
    assert run_worker()["stored"] == 1
    message.refresh_from_db()
    assert message.media_file.sha256 == hashlib.sha256(video).hexdigest()
    assert message.media_file.mime_type == "video/mp4"
    assert fake.calls == []


def test_a_body_over_the_limit_is_refused_and_nothing_is_kept(client, evo_live, settings, media_root):
    settings.WHATSAPP_WEBHOOK_MAX_BYTES = 3 * 1024 * 1024
    settings.WHATSAPP_WEBHOOK_INLINE_BODY_BYTES = 1024 * 1024
    body = evolution_media(kind="videoMessage", mime="video/mp4", content=os.urandom(3 * 1024 * 1024))
    r = post_evolution(client, evo_live, body)
    assert r.status_code == 413
    assert WebhookEvent.objects.count() == 0 and Message.objects.count() == 0
    tmp = media_root / ".tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []
    assert stored_files(media_root) == [] and not (media_root / "webhooks").exists()


def test_a_replayed_event_heals_a_message_stored_without_its_job(client, fake, meta_live, monkeypatch):
    from whatsapp import journal

    photo = jpeg_bytes()
    body, media_id = meta_media(meta_live, content=photo)
    fake.add_media(media_id, photo, "image/jpeg")
    with monkeypatch.context() as m:
        m.setattr(media_downloads, "download_enqueue", lambda *a, **k: None)  # as if the job's write never happened
        post_meta(client, meta_live, body)
    assert MediaDownload.objects.count() == 0
    journal.webhook_event_process(WebhookEvent.objects.get())  # replay_webhooks
    assert MediaDownload.objects.count() == 1 and run_worker()["stored"] == 1


def test_an_s3_bucket_is_used_when_configured(tmp_path):
    """MEDIA_S3_BUCKET switches the media storage to django-storages' S3 backend (no request is made)."""
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from iaze.lib.blobs import media_storage; s = media_storage(); "
        "print(type(s).__name__, s.bucket_name, s.file_overwrite, s.default_acl, s.location)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MONGO_URL")}
    env.update(DJANGO_SETTINGS_MODULE="iaze.settings", DATA_DIR=str(tmp_path), MEDIA_S3_BUCKET="iaze-test")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["S3Storage", "iaze-test", "False", "private", "iaze-media"]
