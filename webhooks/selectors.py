"""Who sees which webhooks and deliveries: installation admins all, a tenant's managers their tenant's."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.selectors import scope_register, scoped
from webhooks.models import Webhook, WebhookDelivery


def webhook_queryset_for(user) -> QuerySet[Webhook]:
    return scoped(user, Webhook.objects.all(), "reseller_id")


def webhook_event_queryset_for(user) -> QuerySet[WebhookDelivery]:
    return scoped(user, WebhookDelivery.objects.all(), "reseller_id")


scope_register(Webhook, webhook_queryset_for)
scope_register(WebhookDelivery, webhook_event_queryset_for)
