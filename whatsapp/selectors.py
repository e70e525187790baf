"""The admin's scope of the channel's models (see accounts.selectors): resellers see their own, agents nothing."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.selectors import scope_register, scoped
from whatsapp.models import Connection, RecoveryRun, WebhookEvent


def connection_queryset_for(user) -> QuerySet[Connection]:
    # Agents never see connections: they carry the provider secrets.
    return scoped(user, Connection.objects.all(), "reseller_id")


def webhook_event_queryset_for(user) -> QuerySet[WebhookEvent]:
    return scoped(user, WebhookEvent.objects.all(), "connection__reseller_id")


def recovery_run_queryset_for(user) -> QuerySet[RecoveryRun]:
    return scoped(user, RecoveryRun.objects.all(), "connection__reseller_id")


scope_register(Connection, connection_queryset_for)
scope_register(RecoveryRun, recovery_run_queryset_for)
scope_register(WebhookEvent, webhook_event_queryset_for)
