"""Django's flush (and so anything that empties tables through it) refuses non-test databases."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from ops.guards import is_test_database
from tests import factories as f
from tests.iaze.helpers import manage
from tickets.models import Ticket


def test_the_test_database_is_recognised_as_one(db):
    assert is_test_database("default")


def test_flush_refused_on_a_database_that_is_not_a_test_database(meta_conn, monkeypatch):
    f.make_ticket(meta_conn)
    conn = connections["default"]
    # Only the name the refusal looks at changes; the rows stay where they are.
    monkeypatch.setitem(conn.settings_dict, "NAME", "iaze")
    monkeypatch.setitem(conn.settings_dict, "TEST", {"NAME": "test_iaze"})
    assert not is_test_database("default")
    with pytest.raises(CommandError, match="Refusing to flush database 'iaze'"):
        call_command("flush", interactive=False, stdout=io.StringIO())
    monkeypatch.undo()
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("target", [("admin", "zero"), ("sessions", "zero"), ("auth", "zero")])
def test_migrate_backwards_of_django_apps_refused_on_a_database_that_is_not_a_test_database(
    admin_user, client, monkeypatch, target
):
    """Security review: `migrate admin zero` dropped the admin's log, `migrate sessions zero` every session."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.sessions.models import Session

    client.force_login(admin_user)
    LogEntry.objects.create(user=admin_user, action_flag=1, object_repr="x")
    conn = connections["default"]
    monkeypatch.setitem(conn.settings_dict, "NAME", "iaze")
    monkeypatch.setitem(conn.settings_dict, "TEST", {"NAME": "test_iaze"})
    with pytest.raises(CommandError, match=rf"Refusing to unapply migrations .*\b{target[0]}\.0"):
        call_command("migrate", *target, interactive=False, verbosity=0, stdout=io.StringIO())
    monkeypatch.undo()
    assert LogEntry.objects.count() == 1 and Session.objects.count() == 1
    tables = set(conn.introspection.table_names())
    assert {"django_admin_log", "django_session", "auth_permission"} <= tables


@pytest.mark.slow
def test_manage_py_flush_refused_on_the_real_database(tmp_path):
    data = tmp_path / "data"
    assert manage("migrate", "--noinput", "-v0", data_dir=data).returncode == 0
    assert manage("seed_demo", "--password", "pw-123456", data_dir=data).returncode == 0
    result = manage("flush", "--noinput", data_dir=data)
    assert result.returncode == 1
    assert "Refusing to flush database" in result.stderr
    assert "IAZE never deletes" in result.stderr
    count = manage("shell", "-c", "from accounts.models import User; print(User.objects.count())", data_dir=data)
    assert count.stdout.strip().splitlines()[-1] == "5"


@pytest.mark.slow
def test_manage_py_migrate_zero_refused_on_the_real_database(tmp_path):
    """Security review: `migrate tickets zero` dropped tickets, messages and events on a live database."""
    data = tmp_path / "data"
    assert manage("migrate", "--noinput", "-v0", data_dir=data).returncode == 0
    assert manage("seed_demo", "--password", "pw-123456", data_dir=data).returncode == 0
    targets = [("tickets", "zero"), ("whatsapp", "zero"), ("tickets", "0001")]
    targets += [("admin", "zero"), ("sessions", "zero"), ("auth", "zero"), ("contenttypes", "zero")]
    for target in targets:
        result = manage("migrate", *target, "--noinput", data_dir=data)
        assert result.returncode == 1, target
        assert "Refusing to unapply migrations of protected data" in result.stderr
    snapshot = manage("persistence", "snapshot", data_dir=data)
    assert snapshot.returncode == 0 and '"connections": 2' in snapshot.stdout
    code = "from django.db import connection; print(sorted(connection.introspection.table_names()))"
    tables = manage("shell", "-c", code, data_dir=data)
    assert "'django_admin_log'" in tables.stdout and "'django_session'" in tables.stdout
    # Forward migrations and an up-to-date target still work.
    assert manage("migrate", "tickets", "--noinput", "-v0", data_dir=data).returncode == 0
    assert manage("migrate", "admin", "--noinput", "-v0", data_dir=data).returncode == 0
