"""backup / restore: the portable export holds every protected row and restores into any profile."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import contact_import, contacts, tokens
from accounts.models import (
    Client,
    ClientChange,
    ClientTerm,
    ContactField,
    Department,
    Reseller,
    ResellerConfig,
    Tag,
    User,
)
from iaze.lib import clock
from ops.backup import RestoreError, backup, restore
from ops.backup.tables import decode_row, protected_tables
from tests import factories as f
from tests.ops.helpers import lane_profile, normalise_times, read_export, scratch, store_media_message
from tickets import outbox, services
from tickets.models import (
    MediaFile,
    Message,
    MessageTemplate,
    QuickReply,
    ReportRollup,
    Ticket,
    TicketEvent,
    TicketTerm,
)
from webhooks import services as webhooks
from webhooks.recorder import record_pass
from whatsapp.models import RecoveryRun, WebhookEvent

# Not UTF-8, NUL bytes, an accent: the journal keeps raw bytes exactly as received.
# Committed data, as the app writes it: SQLite's backup API copies committed pages only.
pytestmark = pytest.mark.django_db(transaction=True)

RAW_BODY = b'{"x":"a\\u00e7\\u00e3o"}\x00\xff\xfe raw'


@pytest.fixture
def populated(tenant, agent1, agent2, agent3, reseller_user, admin_user, outsider, meta_conn, evo_conn):
    """Every protected table with rows in it, through the real services."""
    # An outgoing webhook first, so that the tickets' changes below become its events (record_pass at the end).
    webhooks.webhook_create(
        reseller=tenant.reseller, url="https://hooks.example.com/in?token=t", events=["ticket.created"]
    )
    f.make_ticket(meta_conn, text="Olá, ação! 🙂")
    f.make_ticket(meta_conn, agent=agent1)
    closed = f.make_ticket(meta_conn, agent=agent2, closed_by=agent2)
    f.make_ticket(evo_conn, agent=agent1)
    outbox.message_enqueue_outbound(
        ticket=Ticket.objects.in_state("atendendo").first(), text="Resposta", agent=agent1, nonce="n-1"
    )
    WebhookEvent.objects.create(
        connection=meta_conn,
        dedup_key="k1",
        event_type="messages",
        body=RAW_BODY,
        headers={"X-Hub-Signature-256": "sha256=00"},
        received_at=clock.now(),
    )
    ResellerConfig.objects.filter(reseller=tenant.reseller).update(
        business_hours={"mon": [["08:00", "18:00"]]}, greeting_text="Olá! Em que posso ajudar?"
    )
    store_media_message(closed)
    # A quick reply carrying a file (the stored one): restored after the file it points to.
    QuickReply.objects.create(
        reseller=tenant.reseller,
        shortcut="/ola",
        text="Olá {{nome}}!",
        media_file=MediaFile.objects.get(),
        file_name="pix.png",
        file_type="image/png",
    )
    MessageTemplate.objects.create(connection=meta_conn, name="retomar", language="pt_BR", body="Olá {{1}}")
    RecoveryRun.objects.create(connection=evo_conn, trigger="reconnect", since=clock.now(), found=3, stored=2)
    services.ticket_read_mark(ticket=closed, agent=closed.agent, upto=clock.now())
    vip = Tag.objects.create(reseller=tenant.reseller, name="VIP", color=Tag.Color.PURPLE)
    services.ticket_tag_set(ticket=closed, by=agent2, tag=vip.pk, on=True)
    services.ticket_tag_set(ticket=closed, by=agent2, tag=vip.pk, on=True, target="client")
    services.schedule_create(
        user=agent1,
        client=closed.client,
        connection=str(meta_conn.pk),
        send_at=clock.now() + timedelta(days=1),
        text="Lembrete agendado",
    )
    # Contacts: a custom field, a contact added by a person (its history), an import (the job and its lines).
    ContactField.objects.create(reseller=tenant.reseller, key="plano", label="Plano")
    contacts.contact_create(reseller_id=tenant.reseller.pk, by=agent1, data={"name": "Rosa", "number": "11912345678"})
    job = contact_import.contact_import_enqueue(
        reseller_id=tenant.reseller.pk,
        by=agent1,
        header=["nome", "numero", "plano"],
        rows=[(2, ["Lia", "11923456789", "Ouro"])],
    )
    contact_import.contact_import_run(job.pk, contact_import.contact_import_claim(job.pk))
    tokens.token_create(user=agent1, name="ERP")  # an API token: its hash and prefix are backed up, never a secret
    record_pass()
    return closed


def test_backup_holds_every_protected_row_with_its_exact_values(populated, tmp_path):
    manifest = backup(tmp_path / "bk")
    counts = {t["name"]: t["count"] for t in manifest["tables"]}
    assert counts == {
        "resellers": Reseller.objects.count(),
        "reseller_configs": ResellerConfig.objects.count(),
        "departments": Department.objects.count(),
        "users": User.objects.count(),
        "users_departments": User.departments.through.objects.count(),
        "clients": Client.objects.count(),
        "whatsapp_connections": 3,
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
        "ticket_events": TicketEvent.objects.count(),
        "webhook_events": 1,
        "media_files": 1,
        "media_downloads": 1,
        "quick_replies": 1,
        "message_templates": 1,
        "whatsapp_recovery_runs": 1,
        "ticket_reads": 1,
        # Derived (the report's per-day rollups), backed up with the tickets whose rolled_* copies match them.
        "report_rollups": ReportRollup.objects.count(),
        "tags": 1,
        "client_tags": 1,
        "ticket_tags": 1,
        "client_search_terms": ClientTerm.objects.count(),
        "ticket_search_terms": TicketTerm.objects.count(),
        "scheduled_messages": 1,
        "contact_fields": 1,
        "client_changes": ClientChange.objects.count(),
        "contact_imports": 1,
        "api_tokens": 1,
        "outgoing_webhooks": 1,
        "outgoing_webhook_deliveries": 4,  # one ticket.created per ticket
    }
    assert all(counts.values()), counts
    assert manifest["format_version"] == 1 and manifest["profile"] == lane_profile()
    rows = read_export(tmp_path / "bk")
    tables = {t.name: t for t in protected_tables()}
    # Decoding a row gives back exactly what the database holds, field by field.
    for name, model in (
        ("webhook_events", WebhookEvent),
        ("users", User),
        ("tickets", Ticket),
        ("whatsapp_connections", type(populated.connection)),
        ("reseller_configs", ResellerConfig),
        ("report_rollups", ReportRollup),
    ):
        for (pk,), row in rows[name].items():
            obj = model.objects.get(pk=pk)
            for attname, value in decode_row(tables[name], row).items():
                stored = getattr(obj, attname)
                stored = bytes(stored) if isinstance(stored, memoryview) else stored
                assert stored == value, (name, attname)
    event = next(iter(rows["webhook_events"].values()))
    assert decode_row(tables["webhook_events"], event)["body"] == RAW_BODY
    user = rows["users"][(str(User.objects.get(email="agente1@demo.local").pk),)]
    assert user["password"].startswith("md5$")  # the hash itself, so agents keep their passwords
    conn = rows["whatsapp_connections"][(str(populated.connection_id),)]
    assert conn["app_secret"] == "meta-app-secret" and conn["access_token"] == "meta-access-token"
    assert len(rows["users_departments"]) == User.departments.through.objects.count()


def test_a_backup_never_overwrites_another(populated, tmp_path):
    backup(tmp_path / "bk")
    with pytest.raises(CommandError, match="not empty"):
        call_command("backup", "--out", str(tmp_path / "bk"))


def test_restore_refuses_a_database_that_holds_data(populated, tmp_path):
    backup(tmp_path / "bk")
    with pytest.raises(RestoreError, match="already holds data"):
        restore(tmp_path / "bk")


def test_merge_inserts_only_what_is_missing_and_never_overwrites(populated, agent1, tmp_path):
    backup(tmp_path / "bk")
    # After the backup: one ticket moves on, and a new one appears. A merge must keep both.
    moved = Ticket.objects.in_state("atendendo").filter(agent=agent1).first()
    services.ticket_close(ticket=moved, by=agent1)
    newer = f.make_ticket(populated.connection)
    before = {t.name: t.manager("default").count() for t in protected_tables()}
    report = restore(tmp_path / "bk", merge=True)
    assert report.pop("problems") == []
    assert all(r["inserted"] == 0 and r["conflicts"] == 0 for r in report.values())
    assert {t.name: t.manager("default").count() for t in protected_tables()} == before
    assert Ticket.objects.get(pk=moved.pk).status == Ticket.Status.CLOSED
    assert Ticket.objects.filter(pk=newer.pk).exists()


def test_restore_refuses_a_damaged_or_newer_or_unfinished_backup(populated, tmp_path):
    backup(tmp_path / "bk")
    data = tmp_path / "bk" / "data" / "messages.jsonl"
    original = data.read_bytes()
    data.write_bytes(original.replace(b"Resposta", b"Resposte"))
    with pytest.raises(RestoreError, match="checksum"):
        restore(tmp_path / "bk", merge=True)
    data.write_bytes(original)

    manifest_path = tmp_path / "bk" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(RestoreError, match="newer"):
        restore(tmp_path / "bk", merge=True)

    manifest["format_version"] = 1
    manifest["tables"][0]["fields"].append("a_field_this_code_dropped")
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(RestoreError, match="no longer exist"):
        restore(tmp_path / "bk", merge=True)

    manifest_path.unlink()
    with pytest.raises(RestoreError, match="unfinished"):
        restore(tmp_path / "bk", merge=True)


def test_restore_keeps_original_timestamps(populated, tmp_path, settings):
    old = clock.now() - timedelta(days=400)  # whole milliseconds, as the app writes every time
    Ticket.objects.filter(pk=populated.pk).update(created_at=old, updated_at=old)
    backup(tmp_path / "bk")
    row = read_export(tmp_path / "bk")["tickets"][(str(populated.pk),)]
    assert row["created_at"] == old.isoformat()


@pytest.mark.slow
def test_round_trip_into_empty_databases_of_every_sql_profile(populated, tmp_path):
    """This lane's database → backup → empty SQLite → backup → (postgresql and mongodb lanes) an empty
    database of the lane's own profile → backup: every protected row identical at every step."""
    backup(tmp_path / "a")
    exports = [read_export(tmp_path / "a")]
    src = tmp_path / "a"
    targets = ["sqlite"] + ([lane_profile()] if lane_profile() != "sqlite" else [])
    for i, profile in enumerate(targets):
        with scratch(tmp_path, profile) as db:
            # A brand-new database with no schema at all: restore applies the migrations itself.
            out = db.manage("restore", str(src))
            assert "verified" in out.stdout
            refused = db.manage("restore", str(src), check=False)
            assert refused.returncode != 0 and "already holds data" in refused.stderr
            nxt = tmp_path / f"b{i}"
            db.manage("backup", "--out", str(nxt))
            exports.append(read_export(nxt))
            src = nxt
    first = normalise_times(exports[0])
    for other in exports[1:]:
        assert normalise_times(other) == first
