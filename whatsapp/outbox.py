"""Outbox: delivery of queued outbound messages to the provider.

A message is claimed with one conditional update (a lease) before any HTTP call, so
several `send_outbox` processes and the request's fast path never send one message
twice. The claim, the call and the result are separate steps with no transaction
open across the HTTP call; a crash mid-way leaves a lease that simply expires.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection as db_connection, transaction
from django.db.models import F, Q

from iaze.lib import clock
from tickets.models import Message

from .models import Connection
from .providers import SendError, get_provider

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 600


def max_text_length(connection) -> int:
    return get_provider(connection).max_text_length


def backoff_seconds(attempts: int) -> int:
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))


def _lease_length() -> timedelta:
    # Longer than any HTTP call can take, so a live sender never loses its claim mid-call.
    return timedelta(seconds=2 * float(getattr(settings, "WHATSAPP_HTTP_TIMEOUT", 15.0)) + 30)


def _pending(now, *, ignore_backoff: bool):
    qs = Message.objects.filter(direction=Message.Direction.OUT, delivery_status=Message.Delivery.QUEUED,
                                provider_message_id="")
    qs = qs.filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    if not ignore_backoff:
        qs = qs.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    return qs


def message_claim(message_id, *, ignore_backoff: bool = False):
    """Take the lease on one queued message. Returns the lease end, or None when someone else has it."""
    now = clock.now()
    lease_until = clock.to_ms(now + _lease_length())  # compared for equality later: as stored
    won = _pending(now, ignore_backoff=ignore_backoff).filter(pk=message_id).update(
        lease_until=lease_until, attempts=F("attempts") + 1, updated_at=now)
    return lease_until if won == 1 else None


def _recipient(message: Message) -> str:
    # Plain lookups instead of joins: the same code runs on MongoDB.
    from accounts.models import Client
    from tickets.models import Ticket

    client_id = Ticket.objects.filter(pk=message.ticket_id).values_list("client_id", flat=True).get()
    client = Client.objects.get(pk=client_id)
    return client.wa_id or client.phone or client.identity


def message_deliver(message_id, *, ignore_backoff: bool = False) -> str:
    """Claim, send and record one message. Returns sent, retry, failed or skipped."""
    lease = message_claim(message_id, ignore_backoff=ignore_backoff)
    if lease is None:
        return "skipped"
    message = Message.objects.get(pk=message_id)
    mine = Message.objects.filter(pk=message_id, delivery_status=Message.Delivery.QUEUED, lease_until=lease)
    now = clock.now
    try:
        connection = Connection.objects.get(pk=message.connection_id)
        result = get_provider(connection).send_text(to=_recipient(message), text=message.text)
    except SendError as exc:
        if exc.retryable:
            wait = backoff_seconds(message.attempts)
            mine.update(lease_until=None, next_attempt_at=now() + timedelta(seconds=wait),
                        error_code=exc.code[:32], error_text=exc.text, updated_at=now())
            log.warning("message %s: retryable send error %s, next try in %ss", message_id, exc.code, wait)
            return "retry"
        mine.update(delivery_status=Message.Delivery.FAILED, lease_until=None, error_code=exc.code[:32],
                    error_text=exc.text, updated_at=now())
        log.warning("message %s: send failed for good: %s %s", message_id, exc.code, exc.text)
        return "failed"
    except Exception:  # noqa: BLE001 - a bug must not leave the lease dangling for long
        mine.update(lease_until=None, next_attempt_at=now() + timedelta(seconds=backoff_seconds(message.attempts)))
        log.exception("message %s: unexpected error while sending", message_id)
        return "retry"
    _record_sent(message_id, lease, result.provider_message_id)
    return "sent"


def _record_sent(message_id, lease, provider_message_id: str) -> None:
    now = clock.now()
    mine = Message.objects.filter(pk=message_id, delivery_status=Message.Delivery.QUEUED, lease_until=lease)
    changes = {"delivery_status": Message.Delivery.SENT, "sent_at": now, "lease_until": None, "error_code": "",
               "error_text": "", "updated_at": now}
    try:
        with transaction.atomic():
            mine.update(provider_message_id=provider_message_id, **changes)
    except IntegrityError:  # the provider's echo of this very message was stored first
        log.warning("message %s: provider id %s already stored (echo); marking sent without it",
                    message_id, provider_message_id)
        mine.update(**changes)


def send_pending(*, ignore_backoff: bool = True, limit: int | None = None) -> dict[str, int]:
    """One pass over the outbox. Without backoff (the command's default), every queued message is tried now."""
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    ids = list(_pending(clock.now(), ignore_backoff=ignore_backoff)
               .order_by("created_at").values_list("pk", flat=True)[:limit])
    for message_id in ids:
        counts[message_deliver(message_id, ignore_backoff=ignore_backoff)] += 1
    return counts


def _in_transaction() -> bool:
    # Test cases wrap each test in atomic blocks of their own; those are not the caller's transaction.
    return any(not getattr(block, "_from_testcase", False) for block in db_connection.atomic_blocks)


def send_soon(message) -> None:
    """Fast path after a reply is stored: try now, outside any transaction. Never raises."""
    def attempt():
        try:
            message_deliver(message.pk, ignore_backoff=True)
        except Exception:  # noqa: BLE001 - the reply is safely queued; send_outbox will retry it
            log.exception("message %s: inline send failed; left for send_outbox", message.pk)

    if _in_transaction():
        transaction.on_commit(attempt)
    else:
        attempt()
