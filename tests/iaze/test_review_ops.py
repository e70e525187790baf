"""Security review, operations side: the first superuser's password, seed_demo's connections,
file modes of backups and the SQLite file, and restore checking emptiness before migrating."""

import io
import os
import stat
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from tests import factories as f
from whatsapp.models import Connection

ROOT = Path(__file__).resolve().parents[2]


class _Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.django_db
def test_ensure_superuser_prints_the_password_on_a_terminal(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = _Tty()
    call_command("ensure_superuser", stdout=out)
    text = out.getvalue()
    assert "admin@iaze.local" in text and "password: " in text
    password = text.split("password: ", 1)[1].split()[0]
    assert User.objects.get(email="admin@iaze.local").check_password(password)
    assert not (tmp_path / "initial_superuser_password").exists()


@pytest.mark.django_db
def test_ensure_superuser_never_prints_the_password_into_a_log(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = io.StringIO()  # not a terminal: a container's log
    call_command("ensure_superuser", stdout=out)
    path = tmp_path / "initial_superuser_password"
    email, password = path.read_text().split()
    assert email == "admin@iaze.local" and User.objects.get(email=email).check_password(password)
    assert password not in out.getvalue() and str(path) in out.getvalue()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.django_db
def test_make_run_shows_the_password_once_even_without_a_terminal(settings, tmp_path):
    """The contract: `make run` prints the first superuser's e-mail and generated password once.
    scripts/run.sh asks for it with --print (its output is the newcomer's terminal, piped or not)."""
    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    call_command("ensure_superuser", "--print", stdout=out)
    password = out.getvalue().split("password: ", 1)[1].split()[0]
    assert User.objects.get(email="admin@iaze.local").check_password(password)
    assert not (tmp_path / "initial_superuser_password").exists()
    again = io.StringIO()
    call_command("ensure_superuser", "--print", stdout=again)
    assert again.getvalue() == ""  # once: a second start prints nothing
    assert "ensure_superuser --print" in (settings.BASE_DIR / "scripts" / "run.sh").read_text()


@pytest.mark.django_db
def test_seed_demo_never_takes_over_another_tenants_connection():
    other = f.make_reseller("alheia")
    dept = f.make_department(other, "Vendas")
    theirs = f.make_connection(other, dept, key="demo-meta", app_secret="their-secret")
    with pytest.raises(CommandError, match="another reseller"):
        call_command("seed_demo", "--password", "demo12345", stdout=io.StringIO())
    theirs.refresh_from_db()
    assert theirs.reseller_id == other.pk and theirs.app_secret == "their-secret"
    assert theirs.default_department_id == dept.pk
    assert Connection.objects.filter(key="demo-meta").count() == 1


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_busy_database_before_migrating_it(tmp_path, monkeypatch):
    import importlib

    from ops.backup import RestoreError, backup, restore

    restore_module = importlib.import_module("ops.backup.restore")

    f.make_reseller("existente")
    backup(tmp_path / "b")
    migrated = []
    monkeypatch.setattr(restore_module, "_check_schema", lambda *a, **k: migrated.append(a))
    with pytest.raises(RestoreError, match="already holds data"):
        restore(tmp_path / "b")
    assert migrated == []


@pytest.mark.django_db(transaction=True)
def test_a_backup_is_readable_by_its_owner_only(tmp_path):
    from ops.backup import backup

    f.make_reseller("existente")
    out = tmp_path / "b"
    backup(out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o700
    for path in out.rglob("*"):
        assert stat.S_IMODE(os.stat(path).st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_the_sqlite_file_is_readable_by_its_owner_only(settings):
    if settings.DB_PROFILE != "sqlite":
        pytest.skip("by design: the embedded SQLite profile only (the file the test checks)")
    path = settings.DATA_DIR / "iaze.sqlite3"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_mongodump_never_puts_the_uri_in_its_arguments(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from ops.backup import native

    uri = "mongodb://backup:S3cretPass@db.example.com:27017/?authSource=admin"
    seen = {}

    def fake_run(cmd, **kwargs):
        seen["cmd"] = cmd
        config = next(a.split("=", 1)[1] for a in cmd if a.startswith("--config="))
        seen["mode"] = stat.S_IMODE(os.stat(config).st_mode)
        seen["config"] = open(config).read()
        return SimpleNamespace(returncode=0, stderr="")

    monkeypatch.setattr(native.shutil, "which", lambda name: "/usr/bin/mongodump")
    monkeypatch.setattr(native.subprocess, "run", fake_run)
    monkeypatch.setattr(native, "connections", {"m": SimpleNamespace(settings_dict={"HOST": uri, "NAME": "iaze"})})
    native.mongodump("m", tmp_path / "mongodb.archive.gz")
    assert not any("S3cretPass" in arg for arg in seen["cmd"])
    assert seen["mode"] == 0o600 and "S3cretPass" in seen["config"]


def _make_dry_run(target: str, tmp_path) -> str:
    venv = tmp_path / "fresh-venv"  # a venv that does not exist yet: what a fresh clone has
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", target, f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out


@pytest.mark.parametrize("target", ["run", "deploy", "check-migrations"])
def test_running_installs_the_run_lock_only(target, tmp_path):
    out = _make_dry_run(target, tmp_path)
    assert "-r requirements.lock" in out and "requirements-dev" not in out


@pytest.mark.parametrize("target", ["test", "lint"])
def test_tests_and_lint_install_the_development_tools(target, tmp_path):
    assert "-r requirements-dev.lock" in _make_dry_run(target, tmp_path)


def test_the_readme_stays_short_and_names_where_a_change_goes():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for row in ("a new WhatsApp provider", "a new inbound source", "a new background job", "pre-commit install"):
        assert row in readme
    # One code map: the README points at the architecture's, it does not keep its own.
    assert "accounts/            User" not in readme and "accounts/" in (ROOT / "docs/architecture.md").read_text()
