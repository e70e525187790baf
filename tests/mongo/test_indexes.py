"""Collection names and index definitions, built by the backend's schema editor without a server."""

import pytest
from django.apps import apps
from django.db import connection

from accounts.models import User
from tickets.models import Message, Ticket
from whatsapp.models import WebhookEvent

EXPECTED_COLLECTIONS = {
    "accounts.User": "users",
    "accounts.Reseller": "resellers",
    "accounts.ResellerConfig": "reseller_configs",
    "accounts.Department": "departments",
    "accounts.Client": "clients",
    "tickets.Ticket": "tickets",
    "tickets.Message": "messages",
    "tickets.TicketEvent": "ticket_events",
    "tickets.QuickReply": "quick_replies",
    "tickets.MessageTemplate": "message_templates",
    "whatsapp.Connection": "whatsapp_connections",
    "whatsapp.WebhookEvent": "webhook_events",
    "tickets.MediaFile": "media_files",
    "tickets.MediaDownload": "media_downloads",
    "whatsapp.RecoveryRun": "whatsapp_recovery_runs",
    "tickets.TicketRead": "ticket_reads",
    "accounts.Tag": "tags",
    "accounts.ClientTag": "client_tags",
    "accounts.ClientTerm": "client_search_terms",
    "tickets.TicketTag": "ticket_tags",
    "tickets.TicketTerm": "ticket_search_terms",
    "tickets.ReportRollup": "report_rollups",
    "tickets.ScheduledMessage": "scheduled_messages",
    "accounts.LoginCounter": "login_attempts",
    "accounts.ContactField": "contact_fields",
    "accounts.ClientChange": "client_changes",
    "accounts.ContactImport": "contact_imports",
    "accounts.ApiToken": "api_tokens",
    "webhooks.Webhook": "outgoing_webhooks",
    "webhooks.WebhookDelivery": "outgoing_webhook_deliveries",
}


def indexes_of(recorder, model):
    with connection.schema_editor() as editor:
        editor.create_model(model)
    assert recorder.ops("create_collection")[0].collection == model._meta.db_table
    return {
        model_.document["name"]: model_.document
        for call in recorder.ops("create_indexes", model._meta.db_table)
        for model_ in call.args[0]
    }


def test_collection_names_are_the_ones_operators_query():
    actual = {
        f"{m._meta.app_label}.{m.__name__}": m._meta.db_table
        for m in apps.get_models()
        if m._meta.app_label in ("accounts", "tickets", "whatsapp", "webhooks") and not m._meta.auto_created
    }
    assert actual == EXPECTED_COLLECTIONS


def test_one_open_ticket_per_client_and_connection(recorder):
    idx = indexes_of(recorder, Ticket)["ticket_one_open_per_client_connection"]
    assert idx["unique"] is True
    assert list(idx["key"].items()) == [("connection_id", 1), ("client_id", 1)]
    # Exactly `status: open`: closed tickets of the same client repeat freely.
    assert dict(idx["partialFilterExpression"]) == {
        "status": {"$eq": "open"},
        "connection_id": {"$type": "string"},
        "client_id": {"$type": "string"},
    }


def test_provider_message_id_unique_only_when_not_empty(recorder):
    found = indexes_of(recorder, Message)
    idx = found["message_unique_provider_id_per_connection"]
    assert idx["unique"] is True
    assert list(idx["key"].items()) == [("connection_id", 1), ("provider_message_id", 1)]
    # `$gt: ''`: outbound messages without a provider id yet must not collide with each other.
    assert idx["partialFilterExpression"]["provider_message_id"]["$gt"] == ""
    nonce = found["message_unique_reply_nonce_per_ticket"]
    assert nonce["partialFilterExpression"]["client_nonce"]["$gt"] == ""


def test_webhook_journal_unique_per_connection(recorder):
    idx = indexes_of(recorder, WebhookEvent)["webhook_event_unique_per_connection"]
    assert idx["unique"] is True
    assert list(idx["key"].items()) == [("connection_id", 1), ("dedup_key", 1)]


def test_a_stored_file_is_unique_per_tenant_and_sha256_not_across_tenants(recorder):
    from tickets.models import MediaFile

    found = indexes_of(recorder, MediaFile)
    idx = found["media_file_unique_per_tenant"]
    assert idx["unique"] is True
    assert list(idx["key"].items()) == [("reseller_id", 1), ("sha256", 1)]
    # Files stored before addressing was per tenant have no reseller: outside the index, never matched.
    assert idx["partialFilterExpression"]["reseller_id"] == {"$type": "string"}
    assert not any(doc.get("unique") and list(doc["key"]) == ["sha256"] for doc in found.values())


@pytest.mark.parametrize("model", [Ticket, Message, User])
def test_uuid_primary_key_has_a_unique_index(recorder, model):
    # Project models keep their UUID in `id` (MongoDB adds its own `_id`), so `id`
    # needs its own unique index: pk lookups use it and duplicates are refused.
    found = indexes_of(recorder, model)
    [pk_index] = [doc for doc in found.values() if list(doc["key"]) == ["id"]]
    assert pk_index["unique"] is True


def test_queue_index_serves_the_listing_sort(recorder):
    idx = indexes_of(recorder, Ticket)["ticket_queue_dept"]
    assert list(idx["key"].items()) == [("department_id", 1), ("status", 1), ("agent_id", 1), ("last_message_at", -1)]
