"""Tickets and messages as the REST API shows them (and, later, the outgoing webhooks' `data`).

Plain dictionaries built from rows the selectors read: the one place the public shape is written, below the
api app so that whatever records an event about a ticket can describe it the same way. Times are ISO 8601 in
UTC with milliseconds; ids are strings; a link is absolute when `base_url` is given.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.urls import reverse

from tickets.models import Message, Ticket


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _person(user: Any) -> dict | None:
    return None if user is None else {"id": str(user.pk), "name": user.display_name}


def ticket_shape(ticket: Ticket) -> dict[str, Any]:
    """{"id", "status", "client", "department", "agent", "connection", "created_at", "updated_at", …}.

    `updated_at` is the stamp of the ticket's latest change (tickets.activity: claims, transfers, messages…),
    the order `updated_after` lists by; a ticket with no recorded change yet shows its row's own stamp."""
    client = ticket.client
    return {
        "id": str(ticket.pk),
        "status": str(ticket.ui_state),
        "client": {"id": str(client.pk), "name": client.display_name, "number": client.phone or client.wa_id or ""},
        "department": {"id": str(ticket.department.pk), "name": ticket.department.name},
        "agent": _person(ticket.agent if ticket.agent_id else None),
        "connection": ticket.connection.key,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.changed_at or ticket.updated_at),
        "protocol": ticket.protocol,
        "last_message_at": iso(ticket.last_message_at),
    }


# What a message's `status` says: outbound messages their delivery state; a client's message `received`;
# an internal note `internal`.
INBOUND_STATUS = "received"
NOTE_STATUS = "internal"


def message_shape(message: Message, *, base_url: str = "") -> dict[str, Any]:
    """{"id", "direction": "in"|"out", "kind", "text", "status", "created_at", "media_url", "agent"}.

    An internal note is `"kind": "note"` (direction `out`: written by the team, never sent). `media_url`: the
    conversation's media view of a stored file (it accepts the API token too), else null."""
    note = message.direction == Message.Direction.NOTE
    if note:
        status = NOTE_STATUS
    elif message.direction == Message.Direction.IN:
        status = INBOUND_STATUS
    else:
        status = message.delivery_status or Message.Delivery.QUEUED.value
    media_url = None
    if message.media_file_id:
        media_url = base_url + reverse("tickets:media", args=[message.ticket_id, message.pk])
    return {
        "id": str(message.pk),
        "direction": "in" if message.direction == Message.Direction.IN else "out",
        "kind": "note" if note else str(message.kind),
        "text": message.text,
        "status": str(status),
        "created_at": iso(message.created_at),
        "media_url": media_url,
        "agent": _person(message.sender_agent if message.sender_agent_id else None),
    }
