"""Meta's 24-hour customer-service window: until when a business may send free text to a client.

The window closes 24 hours after the client's latest message, as the provider stamped it and
never later than it arrived (tickets.services.message_store caps it). Ticket.last_inbound_at only
moves forward (tickets.activity.ticket_touch), so a late, older message never shortens it.
Evolution connections have no window: `closes_at` is None there.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from iaze.lib import clock

from .models import Ticket

WINDOW = timedelta(hours=24)
# An atendendo row in the queue is marked when its window closes within this much time.
WARN_BEFORE = timedelta(hours=1)
META = "meta"


def has_window(ticket: Ticket) -> bool:
    return ticket.connection.provider == META


def closes_at(ticket: Ticket) -> datetime | None:
    """When the window closes (or closed); None when the connection has no window."""
    if not has_window(ticket):
        return None
    if ticket.last_inbound_at is None:
        return ticket.created_at  # the client never wrote: closed
    return ticket.last_inbound_at + WINDOW


def is_open(ticket: Ticket, now: datetime | None = None) -> bool:
    end = closes_at(ticket)
    return end is None or (now or clock.now()) < end


def closing_soon(ticket: Ticket, now: datetime | None = None) -> bool:
    end = closes_at(ticket)
    now = now or clock.now()
    return end is not None and now < end <= now + WARN_BEFORE
