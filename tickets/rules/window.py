"""The customer-service window: until when a business may send free text (and files) to a client.

Whether a connection has a window, and how long it is, is its provider adapter's `service_window`
(Meta: 24 hours; Evolution: none, so `closes_at` is None there). The window closes that long after
the client's latest message, as the provider stamped it and never later than it arrived
(tickets.services.message_store caps it). Ticket.last_inbound_at only moves forward
(tickets.activity.ticket_touch), so a late, older message never shortens it.

The window belongs to the client and the number, not to a ticket: a conversation an agent starts
(tickets.services.outreach) opens its ticket with the client's latest message time on that connection
(`client_last_inbound`), so the new ticket's window is the one WhatsApp applies.

This module is the one place the rule lives: the reply guard, the conversation page, the queue's
"closing soon" mark, the satisfaction survey and starting a conversation all ask it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from iaze.lib import clock
from providers import capabilities, providers_with
from tickets.models import Ticket

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


def client_last_inbound(connection_id: Any, client_id: Any) -> datetime | None:
    """The client's latest message on this connection, whichever of its tickets holds it (a read of the client's
    tickets, through their history index)."""
    return (
        Ticket.objects.filter(connection_id=connection_id, client_id=client_id, last_inbound_at__isnull=False)
        .order_by("-last_inbound_at")
        .values_list("last_inbound_at", flat=True)
        .first()
    )


class ClientWindow(NamedTuple):
    applies: bool  # the connection has a window at all
    open: bool
    closes_at: datetime | None  # None: no window, or the client never wrote on this connection


def client_window(connection: Any, client_id: Any, now: datetime | None = None) -> ClientWindow:
    """The client's window on this connection, whatever ticket it is (or will be) in."""
    window = length(connection)
    if window is None:
        return ClientWindow(applies=False, open=True, closes_at=None)
    last = client_last_inbound(connection.pk, client_id)
    if last is None:
        return ClientWindow(applies=True, open=False, closes_at=None)
    end = last + window
    return ClientWindow(applies=True, open=(now or clock.now()) < end, closes_at=end)
