"""The customer-service window: until when a business may send free text (and files) to a client.

Whether a connection has a window, and how long it is, is its provider adapter's `service_window`
(Meta: 24 hours; Evolution: none, so `closes_at` is None there). The window closes that long after
the client's latest message, as the provider stamped it and never later than it arrived
(tickets.services.message_store caps it). Ticket.last_inbound_at only moves forward
(tickets.activity.ticket_touch), so a late, older message never shortens it.

This module is the one place the rule lives: the reply guard, the conversation page, the queue's
"closing soon" mark and the satisfaction survey all ask it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from iaze.lib import clock
from whatsapp.providers import capabilities, providers_with

from .models import Ticket

# An atendendo row in the queue is marked when its window closes within this much time.
WARN_BEFORE = timedelta(hours=1)


def length(connection: Any) -> timedelta | None:
    """The window of a connection (or of a stored provider value); None when it has none."""
    return capabilities(connection).service_window


def lengths() -> dict[str, timedelta]:
    """Every provider value with a window, and its length (for queries over many connections)."""
    return {value: window for value in providers_with("service_window") if (window := length(value))}


def has_window(ticket: Ticket, connection: Any = None) -> bool:
    return length(connection or ticket.connection) is not None


def closes_at(ticket: Ticket, connection: Any = None) -> datetime | None:
    """When the window closes (or closed); None when the connection has no window.

    `connection` defaults to the ticket's own (pass it when it is already at hand)."""
    window = length(connection or ticket.connection)
    if window is None:
        return None
    if ticket.last_inbound_at is None:
        return ticket.created_at  # the client never wrote: closed
    return ticket.last_inbound_at + window


def is_open(ticket: Ticket, now: datetime | None = None, *, connection: Any = None) -> bool:
    end = closes_at(ticket, connection)
    return end is None or (now or clock.now()) < end


def closing_soon(ticket: Ticket, now: datetime | None = None) -> bool:
    end = closes_at(ticket)
    now = now or clock.now()
    return end is not None and now < end <= now + WARN_BEFORE
