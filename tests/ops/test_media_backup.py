"""Stored files in backups and checks: `backup`/`restore` carry every file, restore checks each
SHA-256, `persistence snapshot` counts `media_files` and `verify` fails when a recorded file is gone or changed."""

import hashlib
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from ops.backup import RestoreError, backup, restore
from ops.backup.files import stored_file_problems
from tests import factories as f
from tests.ops.helpers import scratch, store_media_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media_root(settings) -> Path:
    return Path(settings.STORAGES["media"]["OPTIONS"]["location"])


@pytest.fixture
def photo_message(meta_conn):
    return store_media_message(f.make_ticket(meta_conn))


def test_backup_carries_every_recorded_file(photo_message, tmp_path):
    manifest = backup(tmp_path / "bk")
    stored = photo_message.media_file
    names = {e["name"]: e["sha256"] for e in manifest["files"]}
    assert names == {stored.storage_name: stored.sha256, stored.thumbnail_name: stored.thumbnail_sha256}
    copy = tmp_path / "bk" / "files" / stored.storage_name
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == stored.sha256


def test_restore_puts_the_files_back_and_refuses_a_damaged_copy(photo_message, tmp_path):
    backup(tmp_path / "bk")
    stored = photo_message.media_file
    with scratch(tmp_path, "sqlite") as db:
        out = db.manage("restore", str(tmp_path / "bk"))
        assert "media files: 2 inserted of 2" in out.stdout
        restored = db.data_dir / "media" / stored.storage_name
        assert restored.exists()
        snap = json.loads(db.manage("persistence", "snapshot").stdout)
        assert snap["media_files"] == 1
        db.manage("persistence", "snapshot", "--out", str(tmp_path / "snap.json"))
        assert db.manage("persistence", "verify", str(tmp_path / "snap.json")).returncode == 0

    (tmp_path / "bk" / "files" / stored.storage_name).write_bytes(b"damaged")
    with scratch(tmp_path, "sqlite") as db:
        r = db.manage("restore", str(tmp_path / "bk"), check=False)
        assert r.returncode != 0 and "does not match its SHA-256" in r.stderr
    with pytest.raises(RestoreError, match="SHA-256"):
        restore(tmp_path / "bk", merge=True)


def test_persistence_verify_fails_when_a_recorded_file_is_missing_or_changed(photo_message, tmp_path, media_root):
    call_command("persistence", "snapshot", "--out", str(tmp_path / "snap.json"))
    assert json.loads((tmp_path / "snap.json").read_text())["media_files"] == 1
    assert stored_file_problems() == []
    path = media_root / photo_message.media_file.storage_name
    original = path.read_bytes()
    path.write_bytes(original + b"tampered")
    assert "no longer match" in " ".join(stored_file_problems())
    with pytest.raises(SystemExit):
        call_command("persistence", "verify", str(tmp_path / "snap.json"))
    path.rename(path.with_name("moved-away"))
    assert "missing from the storage" in " ".join(stored_file_problems())
    path.with_name("moved-away").rename(path)
    path.write_bytes(original)
    call_command("persistence", "verify", str(tmp_path / "snap.json"))
