"""Inbound: turn what a webhook body carried into tickets' messages, receipts and connection states.

The journal (whatsapp.journal) stores a body and hands its parsed records here. This module keeps only
what the channel knows: group chats are dropped, a message goes to the connection of the number that
received it, and the connection's department menu is described for the ticket domain. Then each
message is ONE call, `tickets.services.message_receive` (the door: repeats, business echoes, the
client, reactions and edits, rating answers, routing, storing, greeting, out-of-hours text and menu, in
the order its module states); a client's edit or delete of a message goes to `tickets.services`
too, a receipt to `tickets.outbox`, a connection's state to `whatsapp.health`.

Every step is idempotent so a journal event can be processed any number of times (provider retries,
replays after a crash) and always ends in the same rows: clients are unique per reseller, messages
unique per (connection, provider id), and receipts only move a delivery state forward. The journal
event is marked processed last, so a crash anywhere leaves it pending and processing it again redoes
each step that is missing.
"""

from __future__ import annotations

import logging

from providers import MessageChange, ParsedMessage, ParseResult, StatusUpdate
from tickets import outbox
from tickets import services as ticket_services
from whatsapp.department_menu import department_menu_for
from whatsapp.health import connection_state_apply
from whatsapp.models import Connection

log = logging.getLogger(__name__)


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
    """Store one provider message exactly once. Returns what happened (stored, duplicate, rated, ignored:...)."""
    if parsed.is_group:
        return "ignored:group"
    return ticket_services.message_receive(
        connection=connection,
        sender=parsed.sender,
        message=parsed.message,
        from_business=parsed.from_me,
        source_event_id=source_event_id,
        department_menu=department_menu_for(connection),
    )


def status_ingest(*, connection: Connection, status: StatusUpdate) -> str:
    """Apply a receipt. "status_unknown" when its message is not stored (yet): a receipt can overtake
    the outbox recording the provider's id, so the journal keeps such an event for a later pass."""
    outcome = outbox.receipt_apply(
        connection=connection,
        provider_message_id=status.provider_message_id,
        status=status.status,
        at=status.timestamp,
        error_code=status.error_code,
        error_text=status.error_text,
    )
    return f"status_{outcome}"


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
