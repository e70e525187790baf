"""Inbound: turn what a webhook body carried into clients, tickets, messages and receipts.

The journal (whatsapp.journal) stores a body and hands its parsed records here; routing
into tickets goes through tickets.services, delivery receipts through tickets.outbox.

Nothing relies on a transaction (MongoDB's atomic() is none). The order of the writes keeps
a crash harmless: the raw body is journaled first; then client, ticket, the message itself,
the ticket's activity and the automatic replies; the journal event is marked processed last.
A crash anywhere leaves the event pending, and processing it again redoes each step that is
missing: a message found already stored still gets the steps that follow its insert (its
ticket's activity, a first message's greeting), which are no-ops when they were done.

Every step is idempotent so a journal event can be processed any number of times
(provider retries, replays after a crash) and always ends in the same rows:
clients are unique per reseller, messages unique per (connection, provider id),
and receipts only move a delivery state forward.
"""

from __future__ import annotations

import logging

from accounts.models import Client
from accounts.services import client_upsert
from tickets import localtime, media, outbox
from tickets import services as ticket_services
from tickets.auto_messages import reseller_config_of
from tickets.models import Message, Ticket

from .department_menu import department_menu_for
from .health import connection_state_apply
from .models import Connection
from .providers import MessageChange, ParsedMessage, ParseResult, StatusUpdate

log = logging.getLogger(__name__)


def _stored(connection: Connection, provider_message_id: str) -> Message | None:
    # Almost every message is new: a one-column probe, and the whole row only for a repeat.
    found = Message.objects.by_provider_id(connection, provider_message_id).values_list("pk", flat=True)[:1]
    pk = next(iter(found), None)
    return None if pk is None else Message.objects.filter(pk=pk).first()


def _complete_stored(stored: Message, msg) -> None:
    """A repeat of a stored message: finish what a crash right after its insert may have left undone."""
    if stored.direction != Message.Direction.IN:
        return
    ticket = Ticket.objects.filter(pk=stored.ticket_id).first()
    if ticket is None:
        return
    ticket_services.message_settle(ticket=ticket, message=stored)
    first = not Message.objects.filter(ticket_id=ticket.pk, created_at__lt=stored.created_at).exists()
    ticket_services.ticket_after_inbound(ticket=ticket, created=first, at=msg.timestamp)


def _reaction_target(connection: Connection, parsed: ParsedMessage) -> Ticket | None:
    """A reaction belongs with the message it reacts to, even on a finished ticket."""
    target = parsed.message.reply_to_provider_id
    if parsed.message.kind != Message.Kind.REACTION or not target:
        return None
    ticket_id = Message.objects.by_provider_id(connection, target).values_list("ticket_id", flat=True).first()
    return Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None


def _edit_target(connection: Connection, parsed: ParsedMessage) -> Ticket | None:
    """A client's edit (Meta "edit") stays with the message it edits, like a reaction."""
    target = parsed.message.reply_to_provider_id
    if not (parsed.message.media or {}).get("edit") or not target:
        return None
    ticket_id = Message.objects.by_provider_id(connection, target).values_list("ticket_id", flat=True).first()
    return Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None


def change_ingest(*, connection: Connection, change: MessageChange) -> str:
    """Apply a client's edit or delete to the message it names; the message itself is never removed."""
    if change.action == "deleted":
        done = ticket_services.message_client_delete(
            connection=connection, provider_message_id=change.provider_message_id, at=change.timestamp
        )
    elif change.action == "edited" and change.text:
        done = ticket_services.message_client_edit(
            connection=connection, provider_message_id=change.provider_message_id, text=change.text, at=change.timestamp
        )
    else:
        return "change_ignored"
    return "change_applied" if done else "change_unchanged"


def message_ingest(*, connection: Connection, parsed: ParsedMessage, source_event_id=None) -> str:
    """Store one provider message exactly once. Returns what happened (stored, duplicate, ignored:...)."""
    msg = parsed.message
    if parsed.is_group:
        return "ignored:group"
    # Before routing: a retried old message must never open a new ticket.
    stored = _stored(connection, msg.provider_message_id)
    if stored is not None:
        _complete_stored(stored, msg)
        if msg.kind in media.MEDIA_KINDS:
            media.download_ensure(
                connection=connection, provider_message_id=msg.provider_message_id, source_event_id=source_event_id
            )
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
            source_event_id=source_event_id,
        )
        return "stored" if stored else "duplicate"
    client = client_upsert(reseller_id=connection.reseller_id, sender=parsed.sender)
    ticket = _reaction_target(connection, parsed) or _edit_target(connection, parsed)
    created = False
    # Before routing: an answer to the rating question is stored on its closed ticket and opens none.
    if ticket is None and ticket_services.rating_answer_ingest(connection=connection, client=client, msg=msg):
        return "rated"
    # Read once for both the new ticket's local stamps and the automatic texts below.
    config = reseller_config_of(connection.reseller_id)
    if ticket is None:
        ticket, created = ticket_services.inbound_route(
            connection=connection,
            client=client,
            at=msg.timestamp,
            tz=localtime.zone(config.timezone if config else None),
        )
    stored = ticket_services.message_store(ticket=ticket, msg=msg, source_event_id=source_event_id)
    if stored and (msg.media or {}).get("edit") and msg.reply_to_provider_id:
        ticket_services.message_client_edit(
            connection=connection,
            provider_message_id=msg.reply_to_provider_id,
            text=msg.text or (msg.media or {}).get("caption") or "",
            at=msg.timestamp,
        )
    ticket_services.ticket_after_inbound(ticket=ticket, created=created, at=msg.timestamp, config=config)
    if stored or created:
        # After the greeting and the out-of-hours text: the department menu, or the client's answer to it.
        ticket_services.ticket_menu_after_inbound(
            ticket=ticket,
            created=created,
            department_menu=department_menu_for(connection),
            kind=msg.kind,
            text=msg.text,
        )
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
    """One Meta app may post every number's events to one URL: route by the receiving number.

    Only among the connections of the webhook connection's own reseller: an app secret shared by
    several tenants must never let one tenant's URL open tickets in another's."""
    if not phone_number_id or connection.phone_number_id in ("", phone_number_id):
        return connection
    other = Connection.objects.filter(
        reseller_id=connection.reseller_id,
        provider=connection.provider,
        phone_number_id=phone_number_id,
        active=True,
        app_secret=connection.app_secret,
    ).first()
    return other or connection


def parsed_ingest(*, connection: Connection, result: ParseResult, source_event_id=None) -> dict:
    """Apply everything one webhook body carried. Returns counts for the journal and logs."""
    counts: dict[str, int] = {}

    def bump(key):
        counts[key] = counts.get(key, 0) + 1

    for parsed in result.messages:
        bump(
            message_ingest(
                connection=_connection_for(connection, parsed.phone_number_id),
                parsed=parsed,
                source_event_id=source_event_id,
            )
        )
    for status in result.statuses:
        bump(status_ingest(connection=connection, status=status))
    for change in getattr(result, "changes", ()):
        bump(change_ingest(connection=connection, change=change))
    for update in result.states:
        for key in connection_state_apply(connection=connection, update=update):
            bump(key)
    return counts
