"""The writes that record activity on a ticket: its event log and its latest message.

Shared by the services (state changes, inbound messages) and the outbox (queued replies).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q

from iaze.lib import clock

from .models import Message, Ticket, TicketEvent

PREVIEW_LENGTH = 200


def event_record(
    ticket: Ticket,
    *,
    actor: Any,
    action: str,
    from_state: str = "",
    to_state: str = "",
    at: datetime | None = None,
    **data: Any,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        at=clock.to_ms(at) or clock.now(),
        data=data,
    )


def ticket_touch(
    ticket_id: Any, *, at: datetime, preview: str, inbound: bool, inbound_at: datetime | None = None
) -> None:
    """Move last_message_at (and last_inbound_at) forward only: messages may be stored out of order.

    `inbound_at`: the client's message time for last_inbound_at (the 24-hour window), when it differs from `at`."""
    changes = {"last_message_at": at, "last_message_preview": preview[:PREVIEW_LENGTH], "updated_at": clock.now()}
    ticket = Ticket.objects.filter(pk=ticket_id)
    inbound_at = inbound_at or at
    newest = Q(last_message_at__isnull=True) | Q(last_message_at__lte=at)
    newest_inbound = Q(last_inbound_at__isnull=True) | Q(last_inbound_at__lte=inbound_at)
    if inbound and ticket.filter(newest, newest_inbound).update(**changes, last_inbound_at=inbound_at):
        return  # the usual case, the newest message of all, in one write
    ticket.filter(newest).update(**changes)
    if inbound:
        ticket.filter(newest_inbound).update(last_inbound_at=inbound_at)


def message_preview(kind: str, text: str, media: dict | None = None) -> str:
    if text:
        return text[:PREVIEW_LENGTH]
    caption = (media or {}).get("caption") or (media or {}).get("filename") or ""
    label = str(Message.Kind(kind).label) if kind in Message.Kind.values else kind
    return f"[{label}] {caption}".strip()[:PREVIEW_LENGTH]
