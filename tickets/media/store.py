"""Media kept for good: the stored files of messages (MediaFile rows over the blob store, iaze.lib.blobs).

Every file is named by its tenant and the SHA-256 of its bytes (`files/<reseller>/ab/cd/<sha256>`), so the same
bytes are stored once per tenant, and a name always holds the bytes it names. Content addressing stops at the
tenant: two tenants storing the same bytes get two files and two rows, so nothing a tenant sees (a row found, a
write skipped, a thumbnail already there) tells it that another tenant stored them. Files stored before keep
their names (`files/ab/cd/<sha256>`, no tenant) and are served as they were.

A file's type is its message's: each message records the type it is served and sent as (Message.file_type,
from its own claim checked against the bytes), so the first sender's claim never applies to another message.
The download job of each media message is in tickets.media.downloads; an agent's outbound file is checked in
tickets.media.outbound.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.db import IntegrityError, transaction

from iaze.lib import blobs, filetypes, images
from tickets.models import MediaFile, Message

log = logging.getLogger(__name__)

MEDIA_KINDS = frozenset(
    {Message.Kind.IMAGE, Message.Kind.AUDIO, Message.Kind.VIDEO, Message.Kind.DOCUMENT, Message.Kind.STICKER}
)
THUMBNAIL_BOX = (320, 320)
# Formats Pillow decodes that a browser shows as an <img>: only these are ever served inline as images.
RASTER_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


# --- storage ---------------------------------------------------------------------------------


def tenant_prefix(reseller_id: Any) -> str:
    """Where a tenant's files live: `files/<reseller uuid hex>` (two hex characters never name a tenant, so the
    files stored before, `files/ab/...`, never meet a tenant's)."""
    return f"{blobs.FILES_PREFIX}/{uuid.UUID(str(reseller_id)).hex}"


# --- what a file is ------------------------------------------------------------------------


def sniff_raster(fh: IO[bytes]) -> tuple[str, int, int] | None:
    """(mime, width, height) when Pillow decodes the bytes as a raster image browsers show; else None.

    An image over MEDIA_MAX_IMAGE_PIXELS is None too (iaze.lib.images): kept as a document, never decoded."""
    try:
        with images.open_image(fh) as img:
            fmt, size = img.format, img.size
            img.verify()
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is simply not a raster image
        return None
    mime = RASTER_FORMATS.get(fmt or "")
    return (mime, size[0], size[1]) if mime else None


def _thumbnail(fh: IO[bytes], prefix: str = blobs.FILES_PREFIX) -> blobs.Blob | None:
    try:
        with images.open_image(fh) as img:  # within the pixel budget, checked before decoding
            img.draft("RGB", THUMBNAIL_BOX)
            img.thumbnail(THUMBNAIL_BOX)
            alpha = img.mode in ("RGBA", "LA", "P")
            out = io.BytesIO()
            if alpha:
                img.convert("RGBA").save(out, "PNG", optimize=True)
            else:
                img.convert("RGB").save(out, "JPEG", quality=80)
    except Exception:
        log.warning("thumbnail failed", exc_info=True)
        return None
    return blobs.blob_put(blobs.chunks_of(out.getvalue()), prefix=prefix)


def media_file_record(blob: blobs.Blob, *, reseller_id: Any, claimed_mime: str) -> MediaFile:
    """The tenant's MediaFile row of a stored blob, created once (unique per tenant and sha256). Another
    tenant's row of the same bytes, or a row stored before addressing was per tenant, is never reused."""
    existing = MediaFile.objects.filter(reseller_id=reseller_id, sha256=blob.sha256).first()
    if existing is not None:
        return existing
    with blobs.blob_open(blob.name) as fh:
        raster = sniff_raster(fh)
    claimed = blobs.clean_mime(claimed_mime)
    width: int | None = None
    height: int | None = None
    if raster:
        mime, width, height = raster[0], raster[1], raster[2]
    else:
        # Claimed to be an image but not one Pillow decodes (an SVG, an HTML page...): never shown inline.
        mime = "application/octet-stream" if not claimed or claimed.startswith("image/") else claimed
    thumb = None
    if raster:
        with blobs.blob_open(blob.name) as fh:
            thumb = _thumbnail(fh, tenant_prefix(reseller_id))
    try:
        with transaction.atomic():
            return MediaFile.objects.create(
                reseller_id=reseller_id,
                sha256=blob.sha256,
                size=blob.size,
                mime_type=mime,
                storage_name=blob.name,
                raster_image=bool(raster),
                width=width,
                height=height,
                thumbnail_name=thumb.name if thumb else "",
                thumbnail_sha256=thumb.sha256 if thumb else "",
            )
    except IntegrityError:  # stored by another worker a moment ago
        return MediaFile.objects.get(reseller_id=reseller_id, sha256=blob.sha256)


def media_file_store(data: bytes | IO[bytes] | Iterable[bytes], *, reseller_id: Any, claimed_mime: str) -> MediaFile:
    """Store bytes (or a file, or chunks) for good, as a file of this tenant, and return its MediaFile.
    Raises MediaTooLarge."""
    if isinstance(data, bytes | bytearray | memoryview) or hasattr(data, "read"):
        chunks: Iterable[bytes] = blobs.chunks_of(data)  # type: ignore[arg-type]
    else:
        chunks = data
    blob = blobs.blob_put(chunks, prefix=tenant_prefix(reseller_id), limit=blobs.max_bytes())
    return media_file_record(blob, reseller_id=reseller_id, claimed_mime=claimed_mime)


# --- how a message's file is served ----------------------------------------------------------

OCTET_STREAM = "application/octet-stream"
# Besides the types whose bytes are checked (iaze.lib.filetypes), the only types an attachment keeps.
PLAIN_TYPES = frozenset({"text/plain", "text/csv", OCTET_STREAM})


def file_type_for(media_file: MediaFile, claimed_mime: str | None, *, head: bytes | None) -> str:
    """The type a message's file is served and sent as, from that message's own claim: what Pillow found for
    a raster image; else the claim, cleaned, unless it calls the file an image (it is not one) or names a
    type whose bytes we recognise and `head` (the file's first bytes) is not of it: application/octet-stream
    then. `head` None: the bytes are not looked at (a page listing files stored before types were kept)."""
    if media_file.raster_image:
        return media_file.mime_type
    claimed = blobs.clean_mime(claimed_mime)
    if not claimed or claimed.startswith("image/"):
        return OCTET_STREAM
    if head is not None and not filetypes.content_agrees(claimed, head):
        return OCTET_STREAM
    return claimed


def file_type_stored(media_file: MediaFile, claimed_mime: str | None) -> str:
    """file_type_for, the bytes read from the storage: what a message records when its file is stored."""
    return file_type_for(media_file, claimed_mime, head=blobs.blob_head(media_file.storage_name))


def message_file_type(message: Message, media_file: MediaFile, *, check_bytes: bool) -> str:
    """The type this message's file is served and sent as: the one it recorded; for a message stored before
    types were kept per message, its own claim judged the same way (its file's first bytes read when
    `check_bytes`), and only without a claim its file's first stored type."""
    if message.file_type:
        return message.file_type
    claimed = (message.media or {}).get("mime_type") or media_file.mime_type
    return file_type_for(media_file, claimed, head=blobs.blob_head(media_file.storage_name) if check_bytes else None)


@dataclass(frozen=True)
class Served:
    content_type: str
    inline: bool


def served_as(media_file: MediaFile, file_type: str) -> Served:
    """How a file of this type is answered. Shown in the page: raster images Pillow decoded, and audio and
    video of a type whose bytes we check. Everything else is an attachment, with its own type when that is
    one we check or plain text; any other type (HTML, SVG, XML, scripts…) as application/octet-stream."""
    base = filetypes.base_type(file_type)
    if media_file.raster_image and file_type in RASTER_FORMATS.values():
        return Served(file_type, True)
    if base.startswith(("audio/", "video/")) and filetypes.recognised(base):
        return Served(file_type, True)
    if filetypes.recognised(base) or base in PLAIN_TYPES:
        return Served(file_type, False)
    return Served(OCTET_STREAM, False)


# --- outbound files ------------------------------------------------------------------------


# --- the download job ------------------------------------------------------------------------


# The job's life (lease, attempts, backoff, not_before) is tickets.queues.DOWNLOADS (iaze.lib.jobs).


# --- what must be kept ----------------------------------------------------------------------


def recorded_files() -> Iterable[tuple[str, str]]:
    """(storage name, sha256) of every file the database records: originals and thumbnails.

    Webhook bodies kept as files are recorded by the journal (whatsapp.journal.recorded_body_files)."""
    for name, sha, thumb, thumb_sha in MediaFile.objects.order_by("created_at").values_list(
        "storage_name", "sha256", "thumbnail_name", "thumbnail_sha256"
    ):
        yield name, sha
        if thumb:
            yield thumb, thumb_sha
