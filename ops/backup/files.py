"""The stored files (iaze.lib.blobs) in a backup: every file the database records, copied and checked.

Layout inside a backup directory: files/<storage name> (e.g. files/files/ab/cd/<sha256>), listed in the
manifest's "files" with each SHA-256. The names are content addresses, so a restore puts each file back
under the same name (never overwriting one that is there) and checks every byte on the way.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from iaze.lib import blobs
from tickets.media import store as media
from whatsapp.journal import recorded_body_files

Progress = Callable[[str, int, int | None], None]
DIR = "files"


class FileProblem(Exception):
    pass


def recorded_files() -> list[tuple[str, str]]:
    """(storage name, sha256) of every file the database records (media, thumbnails, large webhook bodies)."""
    seen: dict[str, str] = {}
    for name, sha in [*media.recorded_files(), *recorded_body_files()]:
        seen.setdefault(name, sha)
    return sorted(seen.items())


def _safe_path(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not str(path).startswith(str(root.resolve()) + os.sep):
        raise FileProblem(f"file name {name!r} leaves the backup directory")
    return path


def export_files(out: Path, progress: Progress) -> list[dict]:
    root = Path(out) / DIR
    entries = []
    files = recorded_files()
    for n, (name, sha) in enumerate(files, 1):
        target = _safe_path(root, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with blobs.blob_open(name) as src, target.open("wb") as dst:
            for chunk in blobs.chunks_of(src):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        if digest.hexdigest() != sha:
            raise FileProblem(f"stored file {name} does not match its SHA-256: not backed up as good")
        entries.append({"name": name, "sha256": sha, "size": size})
        if n % 200 == 0:
            progress("media files", n, len(files))
    progress("media files", len(entries), len(entries))
    return entries


def _sha_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(blobs.CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_backup_files(src: Path, entries: Iterable[dict]) -> None:
    root = Path(src) / DIR
    for entry in entries:
        path = _safe_path(root, entry["name"])
        if not path.exists():
            raise FileProblem(f"{DIR}/{entry['name']} is missing from the backup")
        if _sha_of(path) != entry["sha256"]:
            raise FileProblem(f"{DIR}/{entry['name']} does not match its SHA-256: the backup is damaged")


def restore_files(src: Path, entries: Iterable[dict], progress: Progress) -> dict:
    """Put every file of the backup into the media storage (checked), keeping any file already there."""
    storage = blobs.media_storage()
    root = Path(src) / DIR
    entries = list(entries)
    restored = present = 0
    for n, entry in enumerate(entries, 1):
        name = entry["name"]
        if storage.exists(name):
            if blobs.blob_sha256(name) != entry["sha256"]:
                raise FileProblem(f"stored file {name} differs from the backup's copy; it is kept as it is")
            present += 1
        else:
            path = _safe_path(root, name)
            with path.open("rb") as copy:
                temp, sha, _size = blobs.spool(blobs.chunks_of(copy))
            if sha != entry["sha256"]:
                blobs.discard_temp(temp)
                raise FileProblem(f"{DIR}/{name} does not match its SHA-256: the backup is damaged")
            with open(temp, "rb") as fh:
                saved = storage.save(name, blobs.MovableFile(fh, temp))
            blobs.discard_temp(temp)
            if saved != name:
                raise FileProblem(f"{name} was stored as {saved}: the storage renamed it")
            restored += 1
        if n % 200 == 0:
            progress("media files", n, len(entries))
    progress("media files", len(entries), len(entries))
    return {"in_backup": len(entries), "inserted": restored, "conflicts": 0, "present": present}


def stored_file_problems() -> list[str]:
    """Every file the database records must be in the storage with the bytes its SHA-256 names."""
    problems = []
    for name, sha in recorded_files():
        if not blobs.blob_exists(name):
            problems.append(f"media file {name}: recorded in the database, missing from the storage")
        elif blobs.blob_sha256(name) != sha:
            problems.append(f"media file {name}: its bytes no longer match the recorded SHA-256")
    return problems
