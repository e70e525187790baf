"""Inbound: turn what a webhook body carried into clients, tickets, messages and receipts.

The journal (whatsapp.journal) stores a body and hands its parsed records here; routing
into tickets goes through tickets.services, delivery receipts through tickets.outbox.

Every step is idempotent so a journal event can be processed any number of times
(provider retries, replays after a crash) and always ends in the same rows:
clients are unique per reseller, messages unique per (connection, provider id),
and receipts only move a delivery state forward.
"""

from __future__ import annotations

import logging

from accounts.models import Client
from accounts.services import client_upsert
from tickets import outbox
from tickets import services as ticket_services
from tickets.models import Message, Ticket

from .models import Connection
from .providers import ParsedMessage, ParseResult, StatusUpdate
from .services import connection_state_ingest

log = logging.getLogger(__name__)


def _already_stored(connection: Connection, provider_message_id: str) -> bool:
    return Message.objects.by_provider_id(connection, provider_message_id).exists()


def _reaction_target(connection: Connection, parsed: ParsedMessage) -> Ticket | None:
    """A reaction belongs with the message it reacts to, even on a finished ticket."""
    target = parsed.message.reply_to_provider_id
    if parsed.message.kind != Message.Kind.REACTION or not target:
        return None
    ticket_id = Message.objects.by_provider_id(connection, target).values_list("ticket_id", flat=True).first()
    return Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None


def message_ingest(*, connection: Connection, parsed: ParsedMessage) -> str:
    """Store one provider message exactly once. Returns what happened (stored, duplicate, ignored:...)."""
    msg = parsed.message
    if parsed.is_group:
        return "ignored:group"
    # Before routing: a retried old message must never open a new ticket.
    if _already_stored(connection, msg.provider_message_id):
        return "duplicate"
    if parsed.from_me:
        # Looked up, never created: the business writing first does not make a client or a ticket.
        known = Client.objects.filter(reseller_id=connection.reseller_id, identity=parsed.sender.identity).first()
        ticket = known and Ticket.objects.filter(connection=connection, client=known, status=Ticket.Status.OPEN).first()
        if ticket is None:
            return "ignored:from_me_without_ticket"
        stored = ticket_services.message_store(
            ticket=ticket,
            msg=msg,
            direction=Message.Direction.OUT,
            from_business_phone=True,
            delivery_status=Message.Delivery.SENT,
        )
        return "stored" if stored else "duplicate"
    client = client_upsert(reseller_id=connection.reseller_id, sender=parsed.sender)
    ticket = _reaction_target(connection, parsed)
    created = False
    # Before routing: an answer to the rating question is stored on its closed ticket and opens none.
    if ticket is None and ticket_services.rating_answer_ingest(connection=connection, client=client, msg=msg):
        return "rated"
    if ticket is None:
        ticket, created = ticket_services.inbound_route(connection=connection, client=client, at=msg.timestamp)
    stored = ticket_services.message_store(ticket=ticket, msg=msg)
    ticket_services.ticket_after_inbound(ticket=ticket, created=created, at=msg.timestamp)
    return "stored" if stored else "duplicate"


def status_ingest(*, connection: Connection, status: StatusUpdate) -> str:
    """Apply a receipt. "status_unknown" when its message is not stored (yet): a receipt can overtake
    the outbox recording the provider's id, so the journal keeps such an event for a later pass."""
    if outbox.message_apply_status(
        connection=connection,
        provider_message_id=status.provider_message_id,
        status=status.status,
        at=status.timestamp,
        error_code=status.error_code,
        error_text=status.error_text,
    ):
        return "status_applied"
    if (
        status.provider_message_id
        and not Message.objects.by_provider_id(connection, status.provider_message_id).exists()
    ):
        return "status_unknown"
    return "status_unchanged"


def _connection_for(connection: Connection, phone_number_id: str) -> Connection:
    """One Meta app may post every number's events to one URL: route by the receiving number."""
    if not phone_number_id or connection.phone_number_id in ("", phone_number_id):
        return connection
    other = Connection.objects.filter(
        provider=connection.provider, phone_number_id=phone_number_id, active=True, app_secret=connection.app_secret
    ).first()
    return other or connection


def parsed_ingest(*, connection: Connection, result: ParseResult) -> dict:
    """Apply everything one webhook body carried. Returns counts for the journal and logs."""
    counts: dict[str, int] = {}

    def bump(key):
        counts[key] = counts.get(key, 0) + 1

    for parsed in result.messages:
        bump(message_ingest(connection=_connection_for(connection, parsed.phone_number_id), parsed=parsed))
    for status in result.statuses:
        bump(status_ingest(connection=connection, status=status))
    for update in result.states:
        bump("state_stored" if connection_state_ingest(connection=connection, update=update) else "state_stale")
    return counts
