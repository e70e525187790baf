"""Backup and restore under the MongoDB profile, with mongomock behind the real django-mongodb-backend.

Runs in the mongodb-compat lane (MONGO_URL at a closed port): no server is needed or used. It is the
same check whatever the other lanes' database, so it runs there once rather than in every lane.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts import contact_import, contacts, tokens
from accounts.models import ContactField, Tag
from ops.backup import RestoreError, backup, restore
from tests import factories as f
from tests.mongo import fakes
from tests.ops.helpers import store_media_message
from tickets import services
from tickets.models import MessageTemplate, QuickReply
from webhooks import services as webhooks
from webhooks.recorder import record_pass
from whatsapp.models import RecoveryRun, WebhookEvent


@pytest.fixture
def mongomock_db(django_db_blocker, settings):
    assert settings.DB_PROFILE == "mongodb"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), fakes.migrated(connection) as db:
        yield db


def test_backup_and_restore_on_the_mongodb_profile(mongomock_db, tmp_path):
    reseller = f.make_reseller("demo")
    dept = f.make_department(reseller, "Suporte")
    agent = f.make_user("agente1@demo.local", reseller=reseller, departments=[dept])
    conn = f.make_connection(reseller, dept, key="demo-meta")
    webhooks.webhook_create(reseller=reseller, url="https://hooks.example.com/in", events=["ticket.created"])
    held = f.make_ticket(conn, agent=agent, closed_by=agent)
    services.ticket_read_mark(ticket=held, agent=agent, upto=timezone.now())
    store_media_message(f.make_ticket(conn, text="Olá, ação ✓"))
    WebhookEvent.objects.create(connection=conn, dedup_key="k", body=b"\x00\xff raw", received_at=timezone.now())
    QuickReply.objects.create(reseller=reseller, shortcut="/ola", text="Olá {{nome}}")
    MessageTemplate.objects.create(connection=conn, name="retomar", language="pt_BR", body="Olá {{1}}")
    RecoveryRun.objects.create(connection=conn, trigger="manual", since=timezone.now())
    vip = Tag.objects.create(reseller=reseller, name="VIP")
    tagged = f.make_ticket(conn, text="Etiquetado")
    services.ticket_tag_set(ticket=tagged, by=agent, tag=vip.pk, on=True)
    services.ticket_tag_set(ticket=tagged, by=agent, tag=vip.pk, on=True, target="client")
    ContactField.objects.create(reseller=reseller, key="plano", label="Plano")
    contacts.contact_create(reseller_id=reseller.pk, by=agent, data={"name": "Rosa", "number": "11912345678"})
    job = contact_import.contact_import_enqueue(
        reseller_id=reseller.pk, by=agent, header=["nome", "numero"], rows=[(2, ["Lia", "11923456789"])]
    )
    contact_import.contact_import_run(job.pk, contact_import.contact_import_claim(job.pk))
    tokens.token_create(user=agent, name="n8n")
    record_pass()  # the webhook's events (its deliveries' table)
    services.schedule_create(
        user=agent,
        client=held.client,
        connection=str(conn.pk),
        send_at=timezone.now() + timedelta(days=1),
        text="Lembrete agendado",
    )

    manifest = backup(tmp_path / "bk")
    assert manifest["profile"] == "mongodb" and manifest["point_in_time"] is False
    assert manifest["native"].get("file") or manifest["native"].get("skipped")
    counts = {t["name"]: t["count"] for t in manifest["tables"]}
    assert all(counts.values()), counts

    with pytest.raises(RestoreError, match="already holds data"):
        restore(tmp_path / "bk")
    merged = restore(tmp_path / "bk", merge=True)
    assert merged.pop("problems") == [] and all(r["inserted"] == 0 for r in merged.values())

    with fakes.migrated(connection):  # a second, empty server
        assert WebhookEvent.objects.count() == 0
        report = restore(tmp_path / "bk")
        assert report.pop("problems") == []  # counts and row digests equal the manifest
        files = report.pop("media files")  # the same storage: every file is there already, and checked
        assert files["in_backup"] == files["present"] == 2
        assert {name: r["inserted"] for name, r in report.items()} == counts
        assert bytes(WebhookEvent.objects.get().body) == b"\x00\xff raw"
