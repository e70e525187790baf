"""`backup --out DIR`: a portable, versioned export of every protected table, plus the profile's own copy.

Layout of DIR:
    manifest.json          written last: a directory without it is an unfinished backup
    data/<table>.jsonl     one JSON object per row (see tables.py for the encoding)
    files/<name>           every file the database records (media, thumbnails, large webhook bodies)
    native/...             iaze.sqlite3 | postgresql.dump | mongodb.archive.gz
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import load_backend

from iaze.lib import clock
from ops.backup.files import export_files
from ops.backup.native import mongodump, pg_dump, sqlite_copy
from ops.backup.tables import FORMAT, FORMAT_VERSION, Digest, dump_line, iter_db_rows, protected_tables
from ops.protected import PROJECT_APPS

Progress = Callable[[str, int, int | None], None]


def _quiet(table: str, done: int, total: int | None) -> None:
    pass


def applied_migrations(alias: str) -> dict[str, list[str]]:
    applied = sorted(MigrationRecorder(connections[alias]).applied_migrations())
    return {app: [name for a, name in applied if a == app] for app in PROJECT_APPS}


def _export_tables(alias: str, data_dir: Path, progress: Progress) -> list[dict]:
    data_dir.mkdir(parents=True, exist_ok=True)
    tables = protected_tables()
    entries = {}
    # Children first: a row exported later never points at a parent exported
    # earlier-but-missing, even on MongoDB where there is no read snapshot
    # (parents are never deleted, so a child's parent still exists when read).
    for table in reversed(tables):
        path = data_dir / f"{table.name}.jsonl"
        file_hash, digest = hashlib.sha256(), Digest(table)
        with path.open("wb") as out:
            for row in iter_db_rows(table, alias):
                line = dump_line(row)
                out.write(line)
                file_hash.update(line)
                digest.add(row)
                if digest.count % 5000 == 0:
                    progress(table.name, digest.count, None)
            out.flush()
            os.fsync(out.fileno())
        progress(table.name, digest.count, digest.count)
        entries[table.name] = {
            "name": table.name,
            "model": table.label,
            "file": f"data/{path.name}",
            "count": digest.count,
            "sha256": file_hash.hexdigest(),
            "rows_digest": digest.hexdigest(),
            "fields": table.attnames,
            "identity": list(table.identity),
        }
    return [entries[t.name] for t in tables]


@contextmanager
def _snapshot_alias(source: Path):
    """A Django alias reading the frozen SQLite copy, so the export equals the copy row for row."""
    alias = "iaze_backup_source"
    config = dict(connections["default"].settings_dict)
    config.update(NAME=str(source), OPTIONS={"timeout": 30}, CONN_MAX_AGE=0)
    # Registered as a connection only (not in settings): a private, short-lived reader.
    connections[alias] = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias)
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]


def _export_postgresql(alias: str, out: Path, progress: Progress) -> tuple[list[dict], dict]:
    conn = connections[alias]
    with transaction.atomic(using=alias):
        snapshot = None
        # Inside someone else's transaction (tests) the isolation level is theirs.
        if len(conn.atomic_blocks) == 1:
            with conn.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
        # pg_dump joins our snapshot: the dump and the export are the same instant.
        info = pg_dump(alias, out / "native" / "postgresql.dump", snapshot)
        tables = _export_tables(alias, out / "data", progress)
    return tables, info


def backup(out: Path, *, alias: str = "default", progress: Progress = _quiet) -> dict:
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: a backup never overwrites another")
    # A backup holds every secret of the installation: readable by its owner only (dirs 0700, files 0600).
    previous_umask = os.umask(0o077)
    try:
        out.mkdir(parents=True, exist_ok=True)
        out.chmod(0o700)
        return _backup(out, alias=alias, progress=progress)
    finally:
        os.umask(previous_umask)


def _backup(out: Path, *, alias: str, progress: Progress) -> dict:
    (out / "native").mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    vendor = connections[alias].vendor
    point_in_time = True
    if vendor == "sqlite":
        info = sqlite_copy(alias, out / "native" / "iaze.sqlite3")
        progress("sqlite online backup", 1, 1)
        with _snapshot_alias(out / "native" / "iaze.sqlite3") as source:
            migrations = applied_migrations(source)
            tables = _export_tables(source, out / "data", progress)
    elif vendor == "postgresql":
        migrations = applied_migrations(alias)
        tables, info = _export_postgresql(alias, out, progress)
    else:
        migrations = applied_migrations(alias)
        info = mongodump(alias, out / "native" / "mongodb.archive.gz") if vendor == "mongodb" else {}
        point_in_time = False
        tables = _export_tables(alias, out / "data", progress)
    if info.get("file"):
        info["sha256"] = _file_sha256(out / "native" / info["file"])
    # After the rows: files are written before the rows naming them and never removed, so the files the
    # database records now include every file a row of the export names.
    files = export_files(out, progress)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": clock.now().isoformat(),
        "profile": getattr(settings, "DB_PROFILE", vendor),
        "vendor": vendor,
        "point_in_time": point_in_time,
        "migrations": migrations,
        "tables": tables,
        "native": info,
        "files": files,
        "seconds": round(time.monotonic() - started, 3),
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.rename(out / "manifest.json")
    return manifest


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
