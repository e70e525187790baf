"""Builders for the media tests: real payload shapes carrying files the fake provider serves."""

import base64
import copy
import hashlib
import io
import itertools
import time
from pathlib import Path

from django.urls import reverse

from tests import factories as f
from tests.whatsapp.conftest import meta_sample
from tickets.models import MediaDownload, Message
from whatsapp import media_fetch as downloads

_seq = itertools.count(1)

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.cookie)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
# The smallest valid Ogg/Opus header page is enough for the tests: only bytes and types matter here.
OGG = b"OggS\x00\x02" + bytes(range(256)) * 8


def png_bytes(width=640, height=480, color=(200, 40, 40)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(width=800, height=600, color=(20, 120, 220)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG")
    return out.getvalue()


def b64_sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def meta_media(
    connection,
    *,
    kind="image",
    media_id=None,
    content=None,
    mime=None,
    caption=None,
    filename=None,
    wa_id="5511988880001",
    message_id=None,
    sha256=None,
    ts=None,
) -> tuple[dict, str]:
    """A Meta media webhook body (meta_image.json / meta_document.json shapes). Returns (body, media id).

    Sent now unless `ts` says otherwise, so the client's 24-hour window is open."""
    name = "meta_document.json" if kind == "document" else "meta_image.json"
    body = meta_sample(name, connection, wa_id=wa_id, message_id=message_id or f"wamid.M{next(_seq):08d}")
    m = body["entry"][0]["changes"][0]["value"]["messages"][0]
    part = m.pop("document" if kind == "document" else "image")
    media_id = media_id or f"{9000000 + next(_seq)}"
    part["id"] = media_id
    part.pop("url", None)
    if mime:
        part["mime_type"] = mime
    if content is not None:
        part["sha256"] = sha256 or b64_sha(content)
    if caption is not None:
        part["caption"] = caption
    if filename is not None:
        part["filename"] = filename
    if kind in ("audio", "sticker", "video"):
        part.pop("caption", None)
        part.pop("filename", None)
    if kind == "audio":
        part["voice"] = True
    m["type"] = kind
    m[kind] = part
    m["timestamp"] = str(ts if ts is not None else int(time.time()))
    return body, media_id


def evolution_media(
    *,
    kind="videoMessage",
    message_id=None,
    mime="video/mp4",
    content=None,
    caption="",
    jid="5511977776666@s.whatsapp.net",
    inline=True,
) -> dict:
    """An Evolution messages.upsert envelope with a media message (base64 inline when asked)."""
    body = f.load_payload("evolution_messages_upsert_image_caption.json")
    data = body["data"]
    data["key"]["id"] = message_id or f"3EB0MEDIA{next(_seq):012d}"
    data["key"]["remoteJid"] = jid
    part = copy.deepcopy(data["message"].pop("imageMessage"))
    part.pop("jpegThumbnail", None)
    part["mimetype"] = mime
    part["caption"] = caption
    if content is not None:
        part["fileSha256"] = b64_sha(content)
        part["fileLength"] = str(len(content))
    data["message"] = {kind: part, "messageContextInfo": data["message"]["messageContextInfo"]}
    if inline and content is not None:
        data["message"]["base64"] = base64.b64encode(content).decode()
    data["messageType"] = kind
    return body


def run_worker(**kw) -> dict:
    return downloads.media_downloads_run(ignore_backoff=True, **kw)


def only_message() -> Message:
    return Message.objects.get(direction="in")


def job_of(message) -> MediaDownload:
    return MediaDownload.objects.get(message=message)


def media_url(message) -> str:
    return reverse("tickets:media", args=[message.ticket_id, message.pk])


def stored_files(root: Path) -> list[Path]:
    """Files under their real names in the media storage (temporary files excluded)."""
    return sorted(p for p in (root / "files").rglob("*") if p.is_file()) if (root / "files").exists() else []
