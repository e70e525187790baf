"""Durability settings, read back from live connections / the settings each profile really builds."""

import json
import subprocess

import pytest
from django.db import connection

from tests.ops.helpers import PY, ROOT, Scratch

PROBE_SQLITE = """
import django; django.setup()
from django.db import connection
with connection.cursor() as c:
    print(c.execute("PRAGMA journal_mode").fetchone()[0], c.execute("PRAGMA synchronous").fetchone()[0])
"""

PROBE_MONGO = """
import json, django; django.setup()
from django.conf import settings
print(json.dumps({"profile": settings.DB_PROFILE, "db": settings.DATABASES["default"]}, default=str))
"""


def _probe(code: str, env: dict) -> str:
    return subprocess.run(
        [PY, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def test_sqlite_runs_in_wal_mode_with_synchronous_full(tmp_path):
    """A live connection of the embedded profile: WAL, and synchronous=FULL (2), so an acknowledged
    webhook survives a power cut, not only a process crash."""
    db = Scratch(tmp_path, "sqlite")
    assert _probe(PROBE_SQLITE, db.env) == "wal 2"
    assert (db.data_dir / "iaze.sqlite3").exists()


def test_mongodb_writes_with_majority_and_journal(tmp_path):
    env = {**Scratch(tmp_path, "sqlite").env, "MONGO_URL": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200"}
    out = json.loads(_probe(PROBE_MONGO, env))
    assert out["profile"] == "mongodb"
    options = out["db"]["OPTIONS"]
    assert options["w"] == "majority" and options["journal"] is True and options["retryWrites"] is True
    assert out["db"]["NAME"] == "support_chat"


@pytest.mark.postgresql
@pytest.mark.django_db
def test_postgresql_keeps_its_durable_defaults():
    with connection.cursor() as c:
        values = {}
        for name in ("fsync", "synchronous_commit", "full_page_writes"):
            c.execute(f"SHOW {name}")
            values[name] = c.fetchone()[0]
    assert values == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
