"""persistence snapshot|verify: exit 0 when nothing went backwards, 1 naming each shortfall."""

import io
import json
import sqlite3

import pytest
from django.core.management import call_command
from django.db import connection

from tests import factories as f
from tests.iaze.helpers import manage

CONTRACT_KEYS = {
    "tickets",
    "messages",
    "users",
    "departments",
    "resellers",
    "reseller_configs",
    "connections",
    "webhook_events",
    "taken_at",
}


def snapshot(path) -> dict:
    out = io.StringIO()
    call_command("persistence", "snapshot", "--out", str(path), stdout=out)
    printed = json.loads(out.getvalue())
    assert json.loads(path.read_text()) == printed
    return printed


def verify(path):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("persistence", "verify", str(path), stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def history(meta_conn, agent1):
    """One ticket in each state, with messages."""
    espera = f.make_ticket(meta_conn)
    atendendo = f.make_ticket(meta_conn, agent=agent1)
    finalizado = f.make_ticket(meta_conn, agent=agent1, closed_by=agent1)
    return espera, atendendo, finalizado


def test_snapshot_has_the_contract_shape(history, tmp_path):
    counts = snapshot(tmp_path / "snap.json")
    # The contract's keys, plus (additively) every other protected table.
    assert set(counts) == CONTRACT_KEYS | {
        "clients",
        "ticket_events",
        "media_files",
        "media_downloads",
        "quick_replies",
        "message_templates",
        "whatsapp_recovery_runs",
        "ticket_reads",
        "report_rollups",
        "tags",
        "client_tags",
        "ticket_tags",
        "client_search_terms",
        "ticket_search_terms",
        "scheduled_messages",
        "contact_fields",
        "client_changes",
        "contact_imports",
        "api_tokens",
        "outgoing_webhooks",
        "outgoing_webhook_deliveries",
    }
    assert counts["clients"] == 3 and counts["ticket_events"] >= 3
    assert counts["tickets"] == {"espera": 1, "atendendo": 1, "finalizado": 1}
    assert counts["messages"] == 3 and counts["connections"] == 1 and counts["resellers"] == 1


def test_verify_passes_when_tickets_only_moved_forward(history, agent1, tmp_path):
    path = tmp_path / "snap.json"
    snapshot(path)
    espera, atendendo, _ = history
    from tickets import services

    services.ticket_claim(ticket=espera, agent=agent1)  # espera → atendendo
    services.ticket_close(ticket=atendendo, by=agent1)  # atendendo → finalizado
    f.make_ticket(espera.connection)  # more data
    code, out, err = verify(path)
    assert code == 0, err
    assert out.startswith("OK")


def test_verify_fails_naming_each_shortfall_after_rows_vanish(history, tmp_path):
    path = tmp_path / "snap.json"
    snapshot(path)
    _, _, finalizado = history
    # Behind the app's back: raw SQL (raw collection writes on MongoDB), which the app itself never does.
    if connection.vendor == "mongodb":
        connection.database["messages"].delete_many({"ticket_id": finalizado.pk.hex})
        connection.database["tickets"].update_one({"id": finalizado.pk.hex}, {"$set": {"status": "open"}})
    else:
        with connection.cursor() as cursor:
            pk = finalizado.pk.hex if connection.vendor == "sqlite" else finalizado.pk
            cursor.execute("DELETE FROM messages WHERE ticket_id = %s", [pk])
            cursor.execute("UPDATE tickets SET status = 'open' WHERE id = %s", [pk])
    code, _out, err = verify(path)
    assert code == 1
    lines = err.strip().splitlines()
    assert "SHORTFALL messages: 3 in the snapshot, 2 now (-1)" in lines
    assert "SHORTFALL tickets finalizado: 1 in the snapshot, 0 now (-1)" in lines
    assert len(lines) == 2, lines  # the total and atendendo+finalizado did not go backwards


@pytest.mark.slow
def test_snapshot_then_verify_across_processes_on_a_scratch_database(tmp_path):
    """The operator's flow: snapshot, restart, verify; then a simulated loss in the scratch database."""
    data = tmp_path / "data"
    for args in (("migrate", "--noinput", "-v0"), ("seed_demo", "--password", "pw-123456")):
        result = manage(*args, data_dir=data)
        assert result.returncode == 0, result.stderr
    snap = tmp_path / "snap.json"
    result = manage("persistence", "snapshot", "--out", str(snap), data_dir=data)
    assert result.returncode == 0, result.stderr
    assert json.loads(snap.read_text())["users"] == 5
    result = manage("persistence", "verify", str(snap), data_dir=data)  # a new process: "after a restart"
    assert result.returncode == 0, result.stderr

    with sqlite3.connect(data / "iaze.sqlite3") as db:  # the loss, outside the app
        db.execute(
            "DELETE FROM users_departments WHERE user_id IN (SELECT id FROM users WHERE email = 'agente3@demo.local')"
        )
        db.execute("DELETE FROM users WHERE email = 'agente3@demo.local'")
    result = manage("persistence", "verify", str(snap), data_dir=data)
    assert result.returncode == 1
    assert "SHORTFALL users: 5 in the snapshot, 4 now (-1)" in result.stderr


def test_verify_reports_a_lost_client_or_ticket_event(history, tmp_path):
    path = tmp_path / "snap.json"
    snapshot(path)
    before = json.loads(path.read_text())
    from ops.management.commands.persistence import shortfalls, take_counts

    now = take_counts()
    now["clients"] -= 1
    now["ticket_events"] -= 2
    problems = shortfalls(before, now)
    assert any(p.startswith("clients:") for p in problems) and any(p.startswith("ticket_events:") for p in problems)


@pytest.mark.mongodb
def test_snapshot_counts_are_the_raw_collection_counts_on_mongodb(history, outsider, tmp_path):
    """What `persistence snapshot` reports is what the server holds, counted by pymongo itself."""
    from django.conf import settings
    from pymongo import MongoClient

    from accounts.models import Department, Reseller, ResellerConfig, User
    from whatsapp.models import Connection, WebhookEvent

    counts = snapshot(tmp_path / "snap.json")
    with MongoClient(settings.DATABASES["default"]["HOST"]) as client:  # a client of its own, not Django's
        db = client[settings.DATABASES["default"]["NAME"]]
        assert (
            counts["tickets"]
            == {
                "espera": db.tickets.count_documents({"status": "open", "agent_id": None}),
                "atendendo": db.tickets.count_documents({"status": "open", "agent_id": {"$ne": None}}),
                "finalizado": db.tickets.count_documents({"status": "closed"}),
            }
            == {"espera": 1, "atendendo": 1, "finalizado": 1}
        )
        assert sum(counts["tickets"].values()) == db.tickets.count_documents({})
        assert counts["messages"] == db.messages.count_documents({}) > 0
        for key, model in (
            ("users", User),
            ("departments", Department),
            ("resellers", Reseller),
            ("reseller_configs", ResellerConfig),
            ("connections", Connection),
            ("webhook_events", WebhookEvent),
        ):
            assert counts[key] == db[model._meta.db_table].count_documents({}), key
