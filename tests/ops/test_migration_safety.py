"""The migration-safety check: synthetic bad migrations (built here, never committed) must be caught."""

import sys
import textwrap

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import migrations, models
from django.db.migrations.loader import MigrationLoader

from ops.migration_safety import blocking, migration_problems, project_problems


@pytest.fixture(scope="module")
def state():
    """The project's model state after every real migration."""
    return MigrationLoader(None, ignore_no_migrations=True).project_state()


def judge(state, *operations, app="tickets", **attrs):
    migration = type("Migration", (migrations.Migration,), {"operations": list(operations), **attrs})(
        "0999_synthetic", app
    )
    return migration_problems(migration, state)


def test_the_real_migrations_are_safe():
    assert blocking(project_problems()) == []


def test_the_make_target_command_passes_on_the_real_migrations(capsys):
    call_command("check_migrations")
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    "operation, reason",
    [
        (migrations.DeleteModel("TicketEvent"), "drops the model"),
        (migrations.RemoveField("message", "text"), "drops the field"),
        (migrations.RenameModel("Message", "ChatMessage"), "renames the model"),
        (migrations.RenameField("ticket", "status", "state"), "renames the field"),
        (migrations.AlterModelTable("ticket", "ticket_v2"), "renames the table"),
        (
            migrations.AlterField("ticket", "last_message_preview", models.CharField(max_length=50, blank=True)),
            "shrinks max_length 200 → 50",
        ),
        (migrations.AlterField("message", "text", models.IntegerField(default=0)), "changes the type"),
        (migrations.AlterField("ticket", "closed_at", models.DateTimeField()), "NOT NULL without a default"),
        (
            migrations.AlterField(
                "ticket",
                "client",
                models.ForeignKey("accounts.client", on_delete=models.CASCADE, related_name="tickets"),
            ),
            "CASCADE",
        ),
        (
            migrations.AlterField("message", "raw_type", models.CharField(max_length=64, blank=True, db_column="rt")),
            "renames the column",
        ),
        (
            migrations.AddField(
                "message", "parent", models.ForeignKey("tickets.ticket", on_delete=models.CASCADE, null=True)
            ),
            "CASCADE",
        ),
        (migrations.RemoveConstraint("message", "message_unique_provider_id_per_connection"), "exactly-once"),
        (migrations.RunSQL("DELETE FROM messages WHERE kind = 'system'"), "destructive SQL"),
        (migrations.RunSQL("ALTER TABLE tickets DROP COLUMN closed_by_id"), "destructive SQL"),
    ],
)
def test_data_losing_operations_are_caught(state, operation, reason):
    problems = judge(state, operation)
    assert problems and reason in str(problems[0]), problems
    assert blocking(problems) == problems


def _purge(apps, schema_editor):  # never run: the check only reads its source
    apps.get_model("tickets", "Message").objects.filter(kind="system").delete()


def test_run_python_that_deletes_is_caught(state):
    problems = judge(state, migrations.RunPython(_purge, migrations.RunPython.noop))
    assert "deletes" in str(problems[0])


@pytest.mark.parametrize(
    "operation",
    [
        migrations.AddField("message", "note", models.TextField(blank=True, default="")),
        migrations.AlterField("ticket", "last_message_preview", models.CharField(max_length=500, blank=True)),
        migrations.AlterField("ticket", "last_message_preview", models.TextField(blank=True)),
        migrations.AlterField("message", "attempts", models.PositiveBigIntegerField(default=0)),
        migrations.AlterField("ticket", "closed_at", models.DateTimeField(null=True, blank=True, db_index=True)),
        migrations.RemoveIndex("ticket", "ticket_client_history"),
        migrations.RemoveConstraint("ticket", "ticket_closed_has_agent"),
        migrations.RunSQL("CREATE INDEX IF NOT EXISTS x ON messages (kind)"),
    ],
)
def test_safe_operations_pass(state, operation):
    assert judge(state, operation) == []


def test_replacing_a_unique_constraint_in_the_same_migration_passes(state):
    fields = ["connection", "provider_message_id"]
    assert (
        judge(
            state,
            migrations.RemoveConstraint("message", "message_unique_provider_id_per_connection"),
            migrations.AddConstraint(
                "message",
                models.UniqueConstraint(
                    fields=fields,
                    condition=models.Q(provider_message_id__gt="") & ~models.Q(kind="system"),
                    name="message_unique_provider_id_v2",
                ),
            ),
        )
        == []
    )


def test_a_reviewed_migration_is_reported_but_allowed(state):
    problems = judge(
        state,
        migrations.RemoveField("message", "raw_type"),
        reviewed_data_loss="raw_type was never read; copied into media first",
    )
    assert problems and problems[0].reviewed.startswith("raw_type was never read")
    assert blocking(problems) == []
    # An empty reason is no review.
    assert blocking(judge(state, migrations.RemoveField("message", "raw_type"), reviewed_data_loss="  "))


def test_the_command_fails_on_a_bad_migration_on_disk(tmp_path, settings, monkeypatch, capsys):
    """End to end through the loader: a migrations package with a real 0001 and a synthetic bad 0002."""
    import tickets.migrations as real

    pkg = tmp_path / "synthetic_tickets_migrations"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "0001_initial.py").write_text(
        (__import__("pathlib").Path(real.__file__).parent / "0001_initial.py").read_text()
    )
    bad = textwrap.dedent("""
        from django.db import migrations

        class Migration(migrations.Migration):
            dependencies = [("tickets", "0001_initial")]
            operations = [migrations.RemoveField("ticketevent", "data")]
    """)
    (pkg / "0002_drop_event_data.py").write_text(bad)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.MIGRATION_MODULES = {
        **getattr(settings, "MIGRATION_MODULES", {}),
        "tickets": "synthetic_tickets_migrations",
    }
    try:
        with pytest.raises(CommandError, match="1 unsafe"):
            call_command("check_migrations")
        assert "tickets.0002_drop_event_data" in capsys.readouterr().err

        (pkg / "0002_drop_event_data.py").write_text(
            bad.replace("operations =", 'reviewed_data_loss = "data was always empty"\n    operations =')
        )
        sys.modules.pop("synthetic_tickets_migrations.0002_drop_event_data", None)
        call_command("check_migrations")
        assert "reviewed: data was always empty" in capsys.readouterr().out
    finally:
        for name in [m for m in sys.modules if m.startswith("synthetic_tickets_migrations")]:
            sys.modules.pop(name)
