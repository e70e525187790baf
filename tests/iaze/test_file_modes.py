"""Files on disk are the owner's only: DATA_DIR, its media folder and the run folder 0700, stored files 0600,
whoever creates them first and whatever the umask (security review: DATA_DIR ended up 0755, media 0644)."""

import contextlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from iaze.lib import blobs
from iaze.lib.files import private_dir
from tests.iaze.helpers import ROOT, child_env, run
from tickets.media import store as media


def mode(path) -> int:
    return stat.S_IMODE(Path(path).stat().st_mode)


@contextlib.contextmanager
def umask(value):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def test_private_dir_creates_0700_and_tightens_an_open_folder_of_ours(tmp_path):
    with umask(0o022):
        fresh = private_dir(tmp_path / "a" / "data")
        assert mode(fresh) == 0o700
        opened = tmp_path / "opened"
        opened.mkdir(mode=0o755)
        assert mode(opened) == 0o755
        private_dir(opened)
        assert mode(opened) == 0o700
        wide_open = tmp_path / "volume"
        wide_open.mkdir()
        wide_open.chmod(0o777)  # opened up to get past a permission error: still ours, tightened
        private_dir(wide_open)
        assert mode(wide_open) == 0o700


def test_private_dir_leaves_a_shared_folder_alone(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp given as DATA_DIR by mistake: tightening it would break other users
    private_dir(shared)
    assert mode(shared) == 0o1777


@pytest.mark.django_db
def test_a_stored_media_file_is_0600_in_0700_folders(settings, tmp_path, tenant):
    from tests.whatsapp.media_helpers import jpeg_bytes

    location = Path(settings.STORAGES["media"]["OPTIONS"]["location"])
    assert not location.exists()
    with umask(0o022):  # the default umask of a shell or a container: new files 0644, folders 0755
        stored = media.media_file_store(jpeg_bytes(), reseller_id=tenant.reseller.pk, claimed_mime="image/jpeg")
        body = blobs.blob_put(blobs.chunks_of(b'{"event": "x"}'), prefix="webhook-bodies")  # a journal body
    assert stored.thumbnail_name
    for name in (stored.storage_name, stored.thumbnail_name, body.name):
        path = location / name
        assert mode(path) == 0o600, name
        folder = path.parent
        while folder != location.parent:
            assert mode(folder) == 0o700, folder
            folder = folder.parent
    assert mode(location / ".tmp") == 0o700


@pytest.mark.slow
def test_settings_make_data_dir_and_media_0700_whoever_created_them(tmp_path):
    data = tmp_path / "data"
    (data / "media").mkdir(parents=True)
    data.chmod(0o755)  # a Dockerfile's `mkdir -p /data`, or an earlier version's DATA_DIR
    (data / "media").chmod(0o755)
    fresh = tmp_path / "fresh" / "data"
    code = "import django; django.setup()"
    for data_dir in (data, fresh):
        result = run(["sh", "-c", f'umask 022 && exec "{sys.executable}" -c "{code}"'], data_dir)
        assert result.returncode == 0, result.stderr
        assert mode(data_dir) == 0o700 and mode(data_dir / "media") == 0o700
        assert mode(data_dir / "secret_key") == 0o600 and mode(data_dir / "iaze.sqlite3") == 0o600


@pytest.mark.slow
def test_run_sh_starts_with_umask_077_and_private_folders(tmp_path):
    """scripts/run.sh up to its first command (a stand-in for Python that records its umask and fails)."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    fake_python = tmp_path / "python"
    fake_python.write_text(f'#!/bin/sh\numask > "{tmp_path}/umask"\nexit 3\n')
    fake_python.chmod(0o755)
    env = child_env(data, PY=str(fake_python))
    result = subprocess.run(
        ["sh", "-c", "umask 022 && exec bash scripts/run.sh"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "migrate failed" in result.stderr  # stopped at the stand-in
    assert (tmp_path / "umask").read_text().strip() == "0077"
    assert mode(data) == 0o700 and mode(data / "run") == 0o700


@pytest.mark.slow
def test_run_mongo_sh_starts_the_database_with_umask_077_in_private_folders(tmp_path):
    """scripts/run-mongo.sh up to the database server (a stand-in that records its umask and exits)."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    fake_server = tmp_path / "secantusd"
    fake_server.write_text(f'#!/bin/sh\numask > "{tmp_path}/umask"\nexit 0\n')
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\nexit 1\n")  # the ping never answers, run.sh is never reached
    for script in (fake_server, fake_python):
        script.chmod(0o755)
    env = child_env(data, PY=str(fake_python), SECANTUSD=str(fake_server))
    result = subprocess.run(
        ["sh", "-c", "umask 022 && exec bash scripts/run-mongo.sh"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "SecantusDB exited" in result.stderr, result.stderr
    assert (tmp_path / "umask").read_text().strip() == "0077"
    assert mode(data) == 0o700 and mode(data / "mongo") == 0o700 and mode(data / "mongo.log") == 0o600
