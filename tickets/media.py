"""Media kept for good: the stored files, their storage, and the download job of each media message.

Storage goes through Django's storage API (`STORAGES["media"]`): the local file system under
DATA_DIR/media by default, an S3-compatible bucket when configured. Every file is named by the
SHA-256 of its bytes (`files/ab/cd/<sha256>`), so the same bytes are stored once, and a name always
holds the bytes it names. Bytes are first written to a temporary file and then moved into place
(one rename on a file system), so a crash never leaves half a file under a real name. Nothing here
overwrites or deletes a stored file.

The download job (MediaDownload) is leased like the outbox (tickets.outbox): one conditional
update claims it, the HTTP calls happen outside any transaction, and a lease left by a dead
worker simply expires. Every state change is one conditional write whose row count is checked.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import mimetypes
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from iaze.lib import clock, files, filetypes, images
from whatsapp.providers import get_provider

from .models import MediaDownload, MediaFile, Message
from .queues import DOWNLOADS

log = logging.getLogger(__name__)

MEDIA_KINDS = frozenset(
    {Message.Kind.IMAGE, Message.Kind.AUDIO, Message.Kind.VIDEO, Message.Kind.DOCUMENT, Message.Kind.STICKER}
)
FILES_PREFIX = "files"
CHUNK = 1 << 20
THUMBNAIL_BOX = (320, 320)
# Formats Pillow decodes that a browser shows as an <img>: only these are ever served inline as images.
RASTER_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;\s*[a-z0-9_.+-]+=[a-z0-9_.+\"-]+)*$")


class MediaTooLarge(ValueError):
    """The file is over MEDIA_MAX_BYTES (or the limit the caller gave)."""


# --- storage ---------------------------------------------------------------------------------


def media_storage() -> Storage:
    return storages["media"]


def max_bytes() -> int:
    return int(getattr(settings, "MEDIA_MAX_BYTES", 100 * 1024 * 1024))


def temp_dir() -> Path:
    return _tmp_dir(media_storage())


def _tmp_dir(storage: Storage) -> Path:
    """Temporary files live beside the stored ones (same file system: the move is one rename).

    The folder and the one holding it are 0700 whoever creates them first (iaze.lib.files)."""
    location = getattr(storage, "location", None)
    path = Path(location) / ".tmp" if location else Path(settings.DATA_DIR) / "tmp" / "media"
    files.private_dir(path.parent)
    return files.private_dir(path)


class MovableFile(File):
    """A finished temporary file: FileSystemStorage moves it into place (os.rename) instead of copying it."""

    def __init__(self, file, path: str):
        super().__init__(file, name=os.path.basename(path))
        self._path = path

    def temporary_file_path(self) -> str:
        return self._path


@dataclass(frozen=True)
class Blob:
    name: str
    sha256: str
    size: int


def blob_name(sha256: str, prefix: str = FILES_PREFIX) -> str:
    return f"{prefix}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def spool(chunks: Iterable[bytes], *, limit: int | None = None) -> tuple[str, str, int]:
    """Write chunks to a new temporary file, hashing them. Returns (path, sha256, size).

    Over `limit` the temporary file is dropped and MediaTooLarge raised."""
    fd, path = tempfile.mkstemp(prefix="part-", dir=_tmp_dir(media_storage()))
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if limit is not None and size > limit:
                    raise MediaTooLarge(f"over {limit} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        discard_temp(path)
        raise
    return path, digest.hexdigest(), size


def discard_temp(path: str) -> None:
    """Remove one of our own temporary files (never a stored file)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def blob_put_temp(path: str, sha256: str, size: int, *, prefix: str = FILES_PREFIX) -> Blob:
    """Move a finished temporary file into the storage under its content name (or find it there)."""
    storage = media_storage()
    name = blob_name(sha256, prefix)
    try:
        if not storage.exists(name):
            with open(path, "rb") as fh:
                name = storage.save(name, MovableFile(fh, path))
    finally:
        discard_temp(path)  # moved away already, or the same bytes were stored before
    return Blob(name=name, sha256=sha256, size=size)


def blob_put(chunks: Iterable[bytes], *, prefix: str = FILES_PREFIX, limit: int | None = None) -> Blob:
    path, sha256, size = spool(chunks, limit=limit)
    return blob_put_temp(path, sha256, size, prefix=prefix)


def blob_open(name: str) -> IO[bytes]:
    return media_storage().open(name, "rb")


def blob_read(name: str) -> bytes:
    with blob_open(name) as fh:
        return fh.read()


def blob_sha256(name: str) -> str:
    digest = hashlib.sha256()
    with blob_open(name) as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def blob_exists(name: str) -> bool:
    return media_storage().exists(name)


def chunks_of(data: bytes | IO[bytes]) -> Iterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start : start + CHUNK])
        return
    yield from iter(lambda: data.read(CHUNK), b"")


# --- what a file is ------------------------------------------------------------------------


def clean_mime(value: str | None) -> str:
    value = (value or "").strip().lower()
    return value if len(value) <= 255 and _MIME.match(value) else ""


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


def _thumbnail(fh: IO[bytes]) -> Blob | None:
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
    return blob_put(chunks_of(out.getvalue()))


def media_file_record(blob: Blob, *, claimed_mime: str) -> MediaFile:
    """The MediaFile row of a stored blob, created once (the sha256 is unique)."""
    existing = MediaFile.objects.filter(sha256=blob.sha256).first()
    if existing is not None:
        return existing
    with blob_open(blob.name) as fh:
        raster = sniff_raster(fh)
    claimed = clean_mime(claimed_mime)
    width: int | None = None
    height: int | None = None
    if raster:
        mime, width, height = raster[0], raster[1], raster[2]
    else:
        # Claimed to be an image but not one Pillow decodes (an SVG, an HTML page...): never shown inline.
        mime = "application/octet-stream" if not claimed or claimed.startswith("image/") else claimed
    thumb = None
    if raster:
        with blob_open(blob.name) as fh:
            thumb = _thumbnail(fh)
    try:
        with transaction.atomic():
            return MediaFile.objects.create(
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
        return MediaFile.objects.get(sha256=blob.sha256)


def media_file_store(data: bytes | IO[bytes] | Iterable[bytes], *, claimed_mime: str) -> MediaFile:
    """Store bytes (or a file, or chunks) for good and return their MediaFile. Raises MediaTooLarge."""
    if isinstance(data, bytes | bytearray | memoryview) or hasattr(data, "read"):
        chunks: Iterable[bytes] = chunks_of(data)  # type: ignore[arg-type]
    else:
        chunks = data
    blob = blob_put(chunks, limit=max_bytes())
    return media_file_record(blob, claimed_mime=claimed_mime)


def served_inline(media_file: MediaFile) -> bool:
    """Raster images Pillow decoded, audio and video play in the page; everything else is downloaded."""
    mime = media_file.mime_type
    if media_file.raster_image:
        return mime in RASTER_FORMATS.values()
    return mime.startswith(("audio/", "video/"))


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\'`\\/:*?<>|;%]+')


def safe_filename(name: str | None, *, fallback: str = "arquivo") -> str:
    """A download name without paths, quotes or control characters (`../../etc/passwd` → `passwd`)."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" ._")
    name = re.sub(r"\.{2,}", ".", name)
    return name[:120] or fallback


# --- outbound files ------------------------------------------------------------------------


class MediaRefused(ValueError):
    """An agent's file the connection's provider will not take (type or size); the text says why."""


@dataclass(frozen=True)
class Outbound:
    kind: str
    mime_type: str
    filename: str
    size: int


def outbound_check(connection: Any, upload: Any) -> Outbound:
    """What an attached file is and whether the provider takes it, before anything is stored or sent.

    The browser's claimed type is checked against the bytes: an image is whatever Pillow decodes, and
    a claimed image Pillow cannot decode is sent as a plain document (or refused when the provider
    takes no such document). A program (executable bytes, or a name such as `.exe`, `.js`, `.apk`) is
    refused whatever it claims, and a type whose bytes we recognise (PDF, Office, audio, video) must
    have them: a `.exe` renamed `.pdf` never reaches a client (iaze.lib.filetypes)."""
    filename = safe_filename(getattr(upload, "name", ""))
    size = int(getattr(upload, "size", 0) or 0)
    if size <= 0:
        raise MediaRefused(_("O arquivo está vazio."))
    claimed = clean_mime(getattr(upload, "content_type", "")) or mimetypes.guess_type(filename)[0] or ""
    upload.seek(0)
    sample = upload.read(8192)
    upload.seek(0)
    raster = sniff_raster(upload)
    upload.seek(0)
    head = sample[: filetypes.HEAD_BYTES]
    if raster:
        mime = raster[0]
    elif not claimed or claimed.startswith("image/") or claimed in ("text/html", "application/xhtml+xml"):
        mime = "application/octet-stream"
    elif (
        filetypes.base_type(claimed) == "application/vnd.ms-excel"
        and filename.lower().endswith(".csv")
        and filetypes.looks_like_text(sample)
    ):
        mime = "text/csv"  # Windows browsers with Excel installed call every .csv an Excel sheet
    else:
        mime = claimed
    rule = get_provider(connection).media_rule(mime)
    if rule is None:
        raise MediaRefused(_("O WhatsApp desta conexão não aceita arquivos do tipo %(type)s.") % {"type": mime})
    if filetypes.executable_kind(head):
        raise MediaRefused(_("Este arquivo é um programa (executável ou script) e não pode ser enviado."))
    extension = filetypes.executable_extension(filename)
    if extension:
        raise MediaRefused(
            _("Arquivos %(extension)s não podem ser enviados: são programas (executáveis ou scripts).")
            % {"extension": extension}
        )
    if not raster and not filetypes.content_agrees(mime, head):
        raise MediaRefused(
            _("O conteúdo do arquivo não corresponde ao tipo %(type)s; confira o arquivo antes de enviá-lo.")
            % {"type": filetypes.base_type(mime)}
        )
    limit = min(rule.max_bytes, max_bytes())
    if size > limit:
        raise MediaRefused(
            _("O arquivo tem %(size)s; o limite do WhatsApp para %(kind)s é %(limit)s.")
            % {
                "size": filesizeformat(size),
                "kind": Message.Kind(rule.kind).label,
                "limit": filesizeformat(limit),
            }
        )
    return Outbound(kind=rule.kind, mime_type=mime, filename=filename, size=size)


# --- the download job ------------------------------------------------------------------------


def download_enqueue(message: Message, *, source_event_id: Any = None) -> MediaDownload | None:
    """Record the download job of a media message, once (the message is unique on the job)."""
    if message.kind not in MEDIA_KINDS or message.media_file_id:
        return None
    try:
        with transaction.atomic():
            return DOWNLOADS.enqueue(
                message=message, connection_id=message.connection_id, source_event_id=source_event_id
            )
    except IntegrityError:
        return MediaDownload.objects.filter(message=message).first()


def download_ensure(*, connection: Any, provider_message_id: str, source_event_id: Any = None) -> None:
    """A replayed event heals a message stored without its job (a crash between the two writes)."""
    message = Message.objects.by_provider_id(connection, provider_message_id).first()
    if (
        message is not None
        and message.kind in MEDIA_KINDS
        and not message.media_file_id
        and not MediaDownload.objects.filter(message=message).exists()
    ):
        download_enqueue(message, source_event_id=source_event_id)


# The job's life (lease, attempts, backoff, not_before) is tickets.queues.DOWNLOADS (iaze.lib.jobs).


def backoff_seconds(attempts: int) -> int:
    return DOWNLOADS.backoff.seconds(attempts)


def download_claim(job_id: Any, *, ignore_backoff: bool = False):
    """Take the lease on one pending download. Returns the lease end, or None when someone else has it."""
    return DOWNLOADS.claim(job_id, ignore_backoff=ignore_backoff)


def _touch_message(message_id: Any) -> None:
    # The thread's version stamp reads updated_at: the conversation page refreshes by itself.
    Message.objects.filter(pk=message_id).update(updated_at=clock.now())


def download_succeeded(job: MediaDownload, lease, media_file: MediaFile) -> bool:
    """Link the file to its message, then close the job. Both writes are idempotent, in this order."""
    now = clock.now()
    Message.objects.filter(pk=job.message_id, media_file__isnull=True).update(media_file=media_file, updated_at=now)
    return DOWNLOADS.succeed(job.pk, lease, stored_at=now)


def download_failed(job: MediaDownload, lease, *, code: str, text: str, retryable: bool) -> str:
    """A failed attempt: retried with backoff while attempts remain, else failed for good. Returns retry|failed."""
    if retryable and not DOWNLOADS.exhausted(job.attempts):
        DOWNLOADS.retry(job.pk, lease, attempts=job.attempts, code=code, text=text)
        log.warning("media download %s: %s (%s), next try in %ss", job.pk, code, text, backoff_seconds(job.attempts))
        return "retry"
    if DOWNLOADS.fail(job.pk, lease, code=code, text=text):
        _touch_message(job.message_id)
    log.warning("media download %s failed for good: %s %s", job.pk, code, text)
    return "failed"


def download_retry(job_id: Any) -> bool:
    """An admin's "try again": a failed download becomes pending, with a fresh count of attempts."""
    moved = DOWNLOADS.requeue(job_id)
    if moved:
        message_id = MediaDownload.objects.filter(pk=job_id).values_list("message_id", flat=True).first()
        _touch_message(message_id)
    return moved


def downloads_retry_failed(*, connection_id: Any = None) -> int:
    """Every failed download (of one connection, when given) becomes pending again. Returns how many moved.

    Each job moves through download_retry, its own checked conditional write: a job someone else
    re-queued meanwhile is simply not counted."""
    failed = MediaDownload.objects.filter(state=MediaDownload.State.FAILED)
    if connection_id is not None:
        failed = failed.filter(message__connection_id=connection_id)
    return sum(download_retry(job_id) for job_id in list(failed.order_by("created_at").values_list("pk", flat=True)))


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
