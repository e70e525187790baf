"""The outbox: the whole delivery life of an outbound message, and the only writer of its delivery state.

Queue (a message stored as `queued` before anything is sent), lease, send, record, receipts.
A message is claimed with one conditional update (a lease) before any HTTP call, so
several `send_outbox` processes and the request's fast path never send one message
twice. The claim, the call and the result are separate steps with no transaction
open across the HTTP call; a crash mid-way leaves a lease that simply expires.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import F, Q
from django.utils import timezone

from whatsapp.providers import SendError, get_provider

from .activity import ticket_touch
from .models import Message, Ticket
from .signals import message_sent

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 600


def message_enqueue_outbound(
    *, ticket: Ticket, text: str, agent=None, nonce: str = "", kind: str = Message.Kind.TEXT
) -> tuple[Message, bool]:
    """Store an outbound text as `queued` (the outbox). Returns (message, created)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                ticket=ticket,
                connection_id=ticket.connection_id,
                direction=Message.Direction.OUT,
                kind=kind,
                text=text,
                sender_agent=agent,
                client_nonce=nonce,
                delivery_status=Message.Delivery.QUEUED,
                next_attempt_at=now,
            )
    except IntegrityError:
        if not nonce:
            raise
        return Message.objects.get(ticket=ticket, client_nonce=nonce), False
    ticket_touch(ticket.pk, at=now, preview=text, inbound=False)
    return message, True


def message_queue(
    *, ticket: Ticket, text: str, agent: Any = None, nonce: str = "", kind: str = Message.Kind.TEXT
) -> tuple[Message, bool]:
    """Queue an outbound text and, when configured, try to send it soon (after the caller's commit)."""
    message, created = message_enqueue_outbound(ticket=ticket, text=text, agent=agent, nonce=nonce, kind=kind)
    if created:
        send_soon_if_inline(message)
    return message, created


def send_soon_if_inline(message: Message) -> None:
    """The request's fast path, unless the installation leaves every send to the worker."""
    if getattr(settings, "WHATSAPP_SEND_INLINE", True):
        send_soon(message)


def max_text_length(connection) -> int:
    return get_provider(connection).max_text_length


def backoff_seconds(attempts: int) -> int:
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))


def _lease_length() -> timedelta:
    # Longer than any HTTP call can take, so a live sender never loses its claim mid-call.
    return timedelta(seconds=2 * float(getattr(settings, "WHATSAPP_HTTP_TIMEOUT", 15.0)) + 30)


def _pending(now, *, ignore_backoff: bool):
    qs = Message.objects.filter(
        direction=Message.Direction.OUT, delivery_status=Message.Delivery.QUEUED, provider_message_id=""
    )
    qs = qs.filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    if not ignore_backoff:
        qs = qs.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    return qs


def message_claim(message_id, *, ignore_backoff: bool = False):
    """Take the lease on one queued message. Returns the lease end, or None when someone else has it."""
    now = timezone.now()
    lease_until = now + _lease_length()
    won = (
        _pending(now, ignore_backoff=ignore_backoff)
        .filter(pk=message_id)
        .update(lease_until=lease_until, attempts=F("attempts") + 1, updated_at=now)
    )
    return lease_until if won == 1 else None


def _recipient(message: Message) -> str:
    client = message.ticket.client  # two plain lookups, no join: the same on every profile
    return client.wa_id or client.phone or client.identity


def message_deliver(message_id, *, ignore_backoff: bool = False) -> str:
    """Claim, send and record one message. Returns sent, retry, failed or skipped."""
    lease = message_claim(message_id, ignore_backoff=ignore_backoff)
    if lease is None:
        return "skipped"
    message = Message.objects.get(pk=message_id)
    mine = Message.objects.filter(pk=message_id, delivery_status=Message.Delivery.QUEUED, lease_until=lease)
    now = timezone.now
    try:
        result = get_provider(message.connection).send_text(to=_recipient(message), text=message.text)
    except SendError as exc:
        if exc.retryable:
            wait = backoff_seconds(message.attempts)
            mine.update(
                lease_until=None,
                next_attempt_at=now() + timedelta(seconds=wait),
                error_code=exc.code[:32],
                error_text=exc.text,
                updated_at=now(),
            )
            log.warning("message %s: retryable send error %s, next try in %ss", message_id, exc.code, wait)
            return "retry"
        mine.update(
            delivery_status=Message.Delivery.FAILED,
            lease_until=None,
            error_code=exc.code[:32],
            error_text=exc.text,
            updated_at=now(),
        )
        log.warning("message %s: send failed for good: %s %s", message_id, exc.code, exc.text)
        return "failed"
    except Exception:
        mine.update(lease_until=None, next_attempt_at=now() + timedelta(seconds=backoff_seconds(message.attempts)))
        log.exception("message %s: unexpected error while sending", message_id)
        return "retry"
    _record_sent(message_id, lease, result.provider_message_id)
    message_sent.send(sender=Message, connection_id=message.connection_id, at=timezone.now())
    return "sent"


def _record_sent(message_id, lease, provider_message_id: str) -> None:
    now = timezone.now()
    mine = Message.objects.filter(pk=message_id, delivery_status=Message.Delivery.QUEUED, lease_until=lease)
    changes = {
        "delivery_status": Message.Delivery.SENT,
        "sent_at": now,
        "lease_until": None,
        "error_code": "",
        "error_text": "",
        "updated_at": now,
    }
    try:
        with transaction.atomic():
            mine.update(provider_message_id=provider_message_id, **changes)
    except IntegrityError:  # the provider's echo of this very message was stored first
        log.warning(
            "message %s: provider id %s already stored (echo); marking sent without it", message_id, provider_message_id
        )
        mine.update(**changes)


def send_pending(*, ignore_backoff: bool = True, limit: int | None = None) -> dict[str, int]:
    """One pass over the outbox. Without backoff (the command's default), every queued message is tried now."""
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    ids = list(
        _pending(timezone.now(), ignore_backoff=ignore_backoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
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
        except Exception:
            log.exception("message %s: inline send failed; left for send_outbox", message.pk)

    if _in_transaction():
        transaction.on_commit(attempt)
    else:
        attempt()


# Which delivery states a status may move a message out of: forward only, "failed" only before delivery.
_STATUS_FROM: dict[str, list[str]] = {
    Message.Delivery.SENT: [Message.Delivery.QUEUED],
    Message.Delivery.DELIVERED: [Message.Delivery.QUEUED, Message.Delivery.SENT],
    Message.Delivery.READ: [Message.Delivery.QUEUED, Message.Delivery.SENT, Message.Delivery.DELIVERED],
    Message.Delivery.FAILED: [Message.Delivery.QUEUED, Message.Delivery.SENT],
}


def message_apply_status(
    *,
    connection,
    provider_message_id: str,
    status: str,
    at: datetime | None = None,
    error_code: str = "",
    error_text: str = "",
) -> bool:
    """Apply a provider receipt to the outbound message it names. True when the state moved.

    Receipts arrive out of order and more than once; one conditional update keeps the
    state moving forward only (a late "sent" after "read" matches no row and changes nothing).
    """
    status = "read" if status == "played" else status
    if status not in _STATUS_FROM or not provider_message_id:
        log.info("status %r for %s ignored: not a delivery state", status, provider_message_id)
        return False
    at = at or timezone.now()
    changes = {"delivery_status": status, "updated_at": timezone.now()}
    if status == Message.Delivery.FAILED:
        changes.update(error_code=str(error_code)[:32], error_text=error_text)
    else:
        changes[{"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}[status]] = at
    moved = (
        Message.objects.by_provider_id(connection, provider_message_id)
        .filter(
            direction=Message.Direction.OUT,
            delivery_status__in=_STATUS_FROM[status],
        )
        .update(**changes)
    )
    if not moved and not Message.objects.by_provider_id(connection, provider_message_id).exists():
        log.info(
            "status %r for unknown message %s on connection %s ignored", status, provider_message_id, connection.pk
        )
    return moved == 1
