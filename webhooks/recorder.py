"""Changes of tickets turned into webhook events: the recorder, a pass of the worker.

The source is the change record (tickets.activity writes each change of a ticket with its record;
tickets.reads.changes reads a tenant's changes with a cursor). Each webhook keeps its own cursor in its row.
A pass reads the changes after it, writes one event per change the webhook wants (unique per webhook,
ticket and version, so a pass cut off by a crash and run again writes nothing twice), then moves the cursor
with a write conditional on the cursor it read. Nothing is lost between a change and its delivery: the
change is durable before the event exists, and the cursor only moves past changes already recorded.

`data` is written here, once, from the API's shapes (tickets.reads.shapes): the ticket (and the message) as
they are when the event is recorded (within a pass of the change), plus the change's own facts (`change`:
version, stamp, from and to state, actor), which never move.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError

from tickets.activity import together
from tickets.models import Message, Ticket, TicketEvent
from tickets.reads.changes import Change, changes_cursor_now, changes_since
from tickets.reads.shapes import iso, message_shape, ticket_shape
from webhooks.models import Webhook, WebhookDelivery

log = logging.getLogger(__name__)

A = TicketEvent.Action
TICKET_TYPES: dict[str, str] = {
    A.CREATED: "ticket.created",
    A.STARTED: "ticket.created",
    A.CLAIMED: "ticket.claimed",
    A.TRANSFERRED: "ticket.transferred",
    A.MENU_ROUTED: "ticket.transferred",  # the menu moved it to a department: a transfer by the client
    A.CLOSED: "ticket.closed",
}
# Changes that store a message on the ticket (their record names it: `message_id`).
MESSAGE_ACTIONS: set[str] = {A.MESSAGE, A.REPLIED, A.AUTO_MESSAGE, A.TEMPLATE}


def _message(change: Change) -> Message | None:
    key = (change.data or {}).get("message_id")
    if not key:
        return None
    return Message.objects.select_related("sender_agent").filter(pk=key, ticket_id=change.ticket_id).first()


def event_type(change: Change, message: Message | None) -> str | None:
    """The webhook type of a change, or None for changes no webhook hears of (tags, notes, ratings…)."""
    if change.action in TICKET_TYPES:
        return TICKET_TYPES[change.action]
    if change.action == A.MESSAGE_STATUS:
        return "message.status" if message is not None else None
    if change.action in MESSAGE_ACTIONS and message is not None:
        if message.direction == Message.Direction.IN:
            return "message.received"
        if message.direction == Message.Direction.OUT:
            return "message.sent"
    return None


def _ticket(ticket_id: Any) -> Ticket | None:
    related = ("client", "department", "agent", "connection")
    return Ticket.objects.select_related(*related).filter(pk=ticket_id).first()


def event_data(change: Change, ticket: Ticket, message: Message | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ticket": ticket_shape(ticket),
        "change": {
            "version": change.version,
            "at": iso(change.at),
            "from_state": change.from_state,
            "to_state": change.to_state,
            "actor": None if change.actor_id is None else str(change.actor_id),
        },
    }
    if message is not None:
        data["message"] = message_shape(message)
    if change.action == A.MESSAGE_STATUS:
        data["status"] = (change.data or {}).get("status", "")
    return data


def record_for(hook: Webhook, *, limit: int = 500) -> int:
    """One page of the tenant's changes after the webhook's cursor, as events. Returns how many it wrote."""
    changes, cursor = changes_since(reseller_id=hook.reseller_id, after=hook.cursor or None, limit=limit)
    written = 0
    wanted = set(hook.events or [])
    tickets: dict[Any, Ticket | None] = {}
    for change in changes:
        message = _message(change) if (change.data or {}).get("message_id") else None
        kind = event_type(change, message)
        if kind is None or kind not in wanted:
            continue
        if change.ticket_id not in tickets:
            tickets[change.ticket_id] = _ticket(change.ticket_id)
        ticket = tickets[change.ticket_id]
        if ticket is None:
            continue
        try:
            with together():  # a savepoint on SQL: a duplicate leaves the caller's transaction usable
                WebhookDelivery.objects.create(
                    webhook_id=hook.pk,
                    reseller_id=hook.reseller_id,
                    ticket_id=change.ticket_id,
                    ticket_version=change.version,
                    type=kind,
                    occurred_at=change.at,
                    data=event_data(change, ticket, message),
                    next_attempt_at=change.at,
                )
            written += 1
        except IntegrityError:
            pass  # recorded by a pass that was cut off before its cursor moved (or by another worker)
    if cursor != hook.cursor:
        # Only while on, and only from the cursor this pass read: a pass that lost the race moves nothing.
        moved = Webhook.objects.filter(pk=hook.pk, cursor=hook.cursor, active=True).update(cursor=cursor)
        if moved:
            hook.cursor = cursor
    return written


def record_pass(*, limit: int = 500, rounds: int = 20) -> dict[str, int]:
    """Every webhook that is on (a paused one too: it keeps its events), up to `rounds` pages each."""
    recorded = 0
    for hook in Webhook.objects.filter(active=True).order_by("created_at"):
        for _round in range(rounds):
            before = hook.cursor
            try:
                recorded += record_for(hook, limit=limit)
            except ValueError:
                # Not a cursor of tickets.reads.changes (edited by hand, or a format change): from now on.
                log.exception("webhook %s: its cursor is unreadable; recording from now", hook.pk)
                fresh = changes_cursor_now(reseller_id=hook.reseller_id)
                Webhook.objects.filter(pk=hook.pk, cursor=hook.cursor).update(cursor=fresh)
                break
            if hook.cursor == before:
                break
    return {"recorded": recorded}
