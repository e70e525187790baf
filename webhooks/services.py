"""The writes of webhooks: create, change, turn on and off, resume a paused one, send an event again.

Every state change is one conditional write whose row count is checked (no transaction is relied on).
"""

from __future__ import annotations

import secrets as secrets_module
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Q
from django.utils.translation import gettext as _

from iaze.lib import clock
from providers.url_guard import UnsafeURL, check_provider_url
from tickets.reads.changes import changes_cursor_now
from webhooks.models import EVENT_TYPES, Webhook, WebhookDelivery

SECRET_MIN, SECRET_MAX = 16, 200


class WebhookInvalid(ValueError):
    """A value a webhook may not have; `field` names it, the message is pt-BR."""

    def __init__(self, field: str, text: str):
        super().__init__(text)
        self.field, self.text = field, text


def url_check(url: str) -> str:
    """A receiver URL: http(s), a host, no user-info nor fragment, a public address (the provider-URL rules);
    a query string is allowed (a receiver's token often travels in it)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if len(url) > 2000:
        raise WebhookInvalid("url", _("A URL passa de 2.000 caracteres."))
    if "#" in url:
        raise WebhookInvalid("url", _("A URL do webhook não pode ter fragmento (#)."))
    # The base-URL rules without their query-string rule: checked on the URL without its query.
    bare = parts._replace(query="").geturl()
    try:
        check_provider_url(bare, unresolved_ok=True)  # a name that does not resolve now: checked at each call
    except UnsafeURL as exc:
        raise WebhookInvalid("url", exc.text) from None
    return url


def events_check(events: Iterable[Any]) -> list[str]:
    chosen = list(events or [])
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown or not chosen:
        raise WebhookInvalid(
            "events", _("Escolha um ou mais eventos entre: %(types)s.") % {"types": ", ".join(EVENT_TYPES)}
        )
    return [e for e in EVENT_TYPES if e in chosen]  # each once, in the contract's order


def secret_new() -> str:
    return "whsec_" + secrets_module.token_urlsafe(32)


def webhook_create(*, reseller: Any, url: str, events: Iterable[str], secret: str = "", by: Any = None):
    """A new webhook, on from now (no change before it is recorded). Returns (webhook, secret): the secret
    is the caller's, or generated; either way shown only in this answer."""
    secret = secret or secret_new()
    if not (SECRET_MIN <= len(secret) <= SECRET_MAX):
        raise WebhookInvalid(
            "secret", _("O segredo precisa ter de %(a)d a %(b)d caracteres.") % {"a": SECRET_MIN, "b": SECRET_MAX}
        )
    hook = Webhook.objects.create(
        reseller_id=getattr(reseller, "pk", reseller),
        url=url_check(url),
        events=events_check(events),
        secret=secret,
        cursor=changes_cursor_now(reseller_id=getattr(reseller, "pk", reseller)),
        created_by=by,
    )
    return hook, secret


def webhook_update(
    hook: Webhook, *, url: str | None = None, events: Iterable[str] | None = None, active: bool | None = None
) -> Webhook:
    """Change the URL or events, turn on or off. Turning on (also a paused one) starts recording from now
    and lets the paused one's kept events go out again."""
    fields: dict[str, Any] = {}
    if url is not None:
        fields["url"] = url_check(url)
    if events is not None:
        fields["events"] = events_check(events)
    if fields:
        fields["updated_at"] = clock.now()
        Webhook.objects.filter(pk=hook.pk).update(**fields)
    if active is False:
        Webhook.objects.filter(pk=hook.pk, active=True).update(active=False, updated_at=clock.now())
    elif active is True:
        webhook_turn_on(hook)
    return Webhook.objects.get(pk=hook.pk)


def webhook_turn_on(hook: Webhook) -> bool:
    """On again: an off one records from now (its off time stays unrecorded); a paused one keeps its cursor,
    for it went on recording while paused, and its events are due now. True when something moved."""
    now = clock.now()
    moved = Webhook.objects.filter(pk=hook.pk, active=False).update(
        active=True,
        cursor=changes_cursor_now(reseller_id=hook.reseller_id),
        paused_at=None,
        pause_reason="",
        failing_since=None,
        updated_at=now,
    )
    moved += Webhook.objects.filter(pk=hook.pk, active=True, paused_at__isnull=False).update(
        paused_at=None, pause_reason="", failing_since=None, updated_at=now
    )
    if moved:
        WebhookDelivery.objects.filter(webhook_id=hook.pk, status=WebhookDelivery.Status.PENDING).update(
            next_attempt_at=now, updated_at=now
        )
    return bool(moved)


def event_send_again(event: WebhookDelivery) -> bool:
    """ "Enviar de novo": the same event (same id, same body) due now, once more. A delivery in flight is left
    alone (its lease still holds); False then."""
    now = clock.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return (
        WebhookDelivery.objects.filter(free, pk=event.pk).update(
            status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=now, lease_until=None, updated_at=now
        )
        == 1
    )
