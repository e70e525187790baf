"""The blob store: files kept for good under a name that says what they hold (the SHA-256 of their bytes).

Storage goes through Django's storage API (`STORAGES["media"]`): the local file system under DATA_DIR/media by
default, an S3-compatible bucket when configured. Bytes are first written to a temporary file beside the stored
ones and then moved into place (one rename on a file system), so a crash never leaves half a file under a real
name; nothing here overwrites or deletes a stored file. It knows nothing of tickets or tenants: the webhook
journal, the media of messages, backups and the LGPD export all keep their files here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages

from iaze.lib import files, filetypes

FILES_PREFIX = "files"


CHUNK = 1 << 20


_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;\s*[a-z0-9_.+-]+=[a-z0-9_.+\"-]+)*$")


class MediaTooLarge(ValueError):
    """The file is over MEDIA_MAX_BYTES (or the limit the caller gave)."""


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


def blob_head(name: str, size: int = filetypes.HEAD_BYTES) -> bytes:
    with blob_open(name) as fh:
        return fh.read(size)


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


def clean_mime(value: str | None) -> str:
    value = (value or "").strip().lower()
    return value if len(value) <= 255 and _MIME.match(value) else ""


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\'`\\/:*?<>|;%]+')


def safe_filename(name: str | None, *, fallback: str = "arquivo") -> str:
    """A download name without paths, quotes or control characters (`../../etc/passwd` → `passwd`)."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" ._")
    name = re.sub(r"\.{2,}", ".", name)
    return name[:120] or fallback
