"""Each profile's own full-fidelity copy, next to the portable export.

- SQLite: the online backup API (a consistent copy while the app keeps writing).
- PostgreSQL: pg_dump, in the same snapshot as the portable export.
- MongoDB: mongodump.
The database tools are optional: when one is missing the backup says so and
still holds the portable export, which restores into any profile.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from django.db import connections


def sqlite_copy(alias: str, out: Path) -> dict:
    """Copy the live SQLite database with sqlite3's backup API, then make the copy standalone."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # Through Django's own connection, so an in-memory test database is copied too.
    conn = connections[alias]
    if conn.in_atomic_block:
        # The copy would wait forever for our own open write transaction.
        raise RuntimeError("back up outside of a transaction: the copy must see committed data only")
    conn.ensure_connection()
    dst = sqlite3.connect(out)
    try:
        # pages=-1: one step under one read snapshot. Stepwise copying restarts
        # whenever another connection writes, which under steady webhook traffic
        # might never finish; in WAL mode the one read lock does not block writers.
        conn.connection.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dst.close()
    if check != "ok":
        raise RuntimeError(f"the SQLite copy failed its integrity check: {check}")
    return {"kind": "sqlite-online-backup", "file": str(out.name), "integrity_check": check}


def _pg_env(settings_dict: dict) -> dict:
    env = dict(os.environ)
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    return env


def pg_dump(alias: str, out: Path, snapshot: str | None) -> dict:
    tool = shutil.which("pg_dump")
    if not tool:
        return {"kind": "pg_dump", "skipped": "pg_dump is not installed"}
    cmd = [tool, "--format=custom", "--no-owner", "--file", str(out)]
    if snapshot:
        cmd += ["--snapshot", snapshot]
    result = subprocess.run(cmd, env=_pg_env(connections[alias].settings_dict), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {result.stderr.strip()}")
    return {
        "kind": "pg_dump",
        "file": out.name,
        "snapshot": snapshot or "",
        "restore_with": "pg_restore --no-owner -d <empty database> " + out.name,
    }


def mongodump(alias: str, out: Path) -> dict:
    tool = shutil.which("mongodump")
    if not tool:
        return {"kind": "mongodump", "skipped": "mongodump is not installed"}
    settings_dict = connections[alias].settings_dict
    # The URI carries the credentials: in a 0600 config file, never in argv (the process list shows argv).
    with tempfile.TemporaryDirectory(prefix="iaze-mongodump-") as tmp:
        config = Path(tmp) / "mongodump.yaml"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"uri: {json.dumps(settings_dict['HOST'])}\n")
        cmd = [tool, f"--config={config}", f"--db={settings_dict['NAME']}", f"--archive={out}", "--gzip"]
        result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"mongodump failed: {result.stderr.strip()}")
    return {
        "kind": "mongodump",
        "file": out.name,
        "restore_with": f"mongorestore --gzip --archive={out.name} (into an empty database)",
    }
