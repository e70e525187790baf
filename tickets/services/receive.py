"""The one door for "a client sent a message": `message_receive`, the ticket domain's order for one message.

The channel (whatsapp.inbound) keeps only what it knows: it drops group chats, picks the connection by
the number that received the message, describes the connection's department menu, and hands over the
sender, the normalised InboundMessage, whether the business's own phone wrote it, and the journal event
it came in. Everything else is decided here, in this order:

1. A repeat (its provider id is stored already) is never routed again: a retried old message must
   never open a new ticket, nor create or refresh a client. It only gets the steps that follow its
   insert, which a crash may have cut off (its ticket's activity, a first message's greeting, a media
   message's download job); they write nothing when they were done.              → "duplicate"
2. A business echo (written on the business's own phone, Evolution's `fromMe`) is stored as sent on the
   client's open ticket; it creates no client and opens no ticket.
                                                      → "stored", or "ignored:from_me_without_ticket"
3. The client behind the sender, found by either form of a Brazilian mobile number (with or without
   the ninth digit): created on first contact, its profile name kept current
   (accounts.services.client_upsert). A phone stored twice by an older version stays so: the message
   goes to the one with an open ticket (on this connection first), else the one that wrote last.
4. A reaction, and a client's edit, stay on the ticket of the message they name, even a finished one.
5. Anything else is first tried as an answer to the rating question: stored on its closed ticket,
   thanked, and it opens nothing.                                                 → "rated"
6. Then the client's open ticket on the connection, or a new one in espera (a closed ticket is never
   reopened).
7. The message itself, exactly once; an edit also changes the text of the message it edits.
8. The greeting, then the out-of-hours text, when due.
9. Then the department menu, or the client's answer to it, when the message is new or opened the
   ticket.                                                         → "stored", or "duplicate"

Nothing relies on a transaction (MongoDB's atomic() is none): every step is one idempotent, checked
write, so the same message can be received any number of times (provider retries, journal replays
after a crash, gap recovery) and always ends in the same rows.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Client
from accounts.services import ClientProfile, client_find, client_most_recent, client_upsert
from providers.types import InboundMessage
from tickets.media import downloads as media_downloads
from tickets.media import store as media
from tickets.models import Message, Ticket
from tickets.rules import localtime, menu
from tickets.rules.auto_messages import reseller_config_of
from tickets.services.inbound import (
    inbound_route,
    message_client_edit,
    message_settle,
    message_store,
    rating_answer_ingest,
    ticket_after_inbound,
    ticket_menu_after_inbound,
)


def message_receive(
    *,
    connection: Any,
    sender: ClientProfile,
    message: InboundMessage,
    from_business: bool = False,
    source_event_id: Any = None,
    department_menu: menu.DepartmentMenu | None = None,
) -> str:
    """Receive one provider message of a (non-group) chat, in the order of this module's docstring.

    `connection`: the whatsapp.Connection that received it; `sender`: who wrote (a channel's profile,
    providers.types.Sender); `from_business`: the business's own phone wrote it (an echo);
    `source_event_id`: the journal event it came in, for its media download job; `department_menu`: the
    connection's menu, None when it has none. Returns what happened: "stored", "duplicate", "rated" or
    "ignored:from_me_without_ticket".
    """
    stored = _stored(connection, message.provider_message_id)
    if stored is not None:
        _complete_stored(stored, message)
        if message.kind in media.MEDIA_KINDS:
            media_downloads.download_ensure(
                connection=connection,
                provider_message_id=message.provider_message_id,
                source_event_id=source_event_id,
            )
        return "duplicate"
    if from_business:
        return _business_echo(connection, sender, message, source_event_id)
    client = client_upsert(reseller_id=connection.reseller_id, sender=sender, choose=_client_choice(connection))
    ticket = _target_ticket(connection, message)
    created = False
    if ticket is None and rating_answer_ingest(connection=connection, client=client, msg=message):
        return "rated"
    # Read once for both the new ticket's local stamps and the automatic texts below.
    config = reseller_config_of(connection.reseller_id)
    if ticket is None:
        ticket, created = inbound_route(
            connection=connection,
            client=client,
            at=message.timestamp,
            tz=localtime.zone(config.timezone if config else None),
        )
    new = message_store(ticket=ticket, msg=message, source_event_id=source_event_id)
    if new and _edit_of(message):
        message_client_edit(
            connection=connection,
            provider_message_id=message.reply_to_provider_id,
            text=message.text or (message.media or {}).get("caption") or "",
            at=message.timestamp,
        )
    ticket_after_inbound(ticket=ticket, created=created, at=message.timestamp, config=config)
    if new or created:
        ticket_menu_after_inbound(
            ticket=ticket, created=created, department_menu=department_menu, kind=message.kind, text=message.text
        )
    return "stored" if new else "duplicate"


def _stored(connection: Any, provider_message_id: str) -> Message | None:
    # Almost every message is new: a one-column probe, and the whole row only for a repeat.
    found = Message.objects.by_provider_id(connection, provider_message_id).values_list("pk", flat=True)[:1]
    pk = next(iter(found), None)
    return None if pk is None else Message.objects.filter(pk=pk).first()


def _complete_stored(stored: Message, message: InboundMessage) -> None:
    """A repeat of a stored message: finish what a crash right after its insert may have left undone."""
    if stored.direction != Message.Direction.IN:
        return
    ticket = Ticket.objects.filter(pk=stored.ticket_id).first()
    if ticket is None:
        return
    message_settle(ticket=ticket, message=stored)
    first = not Message.objects.filter(ticket_id=ticket.pk, created_at__lt=stored.created_at).exists()
    ticket_after_inbound(ticket=ticket, created=first, at=message.timestamp)


def _business_echo(connection: Any, sender: ClientProfile, message: InboundMessage, source_event_id: Any) -> str:
    """The business wrote on its own phone: kept on the client's open ticket, as sent. Looked up, never
    created: the business writing first makes neither a client nor a ticket."""
    known = client_find(reseller_id=connection.reseller_id, sender=sender, choose=_client_choice(connection))
    ticket = None
    if known is not None:
        ticket = Ticket.objects.filter(connection=connection, client=known, status=Ticket.Status.OPEN).first()
    if ticket is None:
        return "ignored:from_me_without_ticket"
    stored = message_store(
        ticket=ticket,
        msg=message,
        direction=Message.Direction.OUT,
        from_business_phone=True,
        delivery_status=Message.Delivery.SENT,
        source_event_id=source_event_id,
    )
    return "stored" if stored else "duplicate"


def _client_choice(connection: Any):
    """Among clients stored twice for one phone: the one with an open ticket on this connection, else with
    any open ticket, else the one whose ticket moved last (else the most recently touched)."""

    def choose(candidates: list[Client]) -> Client:
        by_id = {c.pk: c for c in candidates}
        open_rows = list(
            Ticket.objects.filter(client_id__in=list(by_id), status=Ticket.Status.OPEN).values_list(
                "client_id", "connection_id"
            )
        )
        for client_id, connection_id in open_rows:
            if connection_id == connection.pk:
                return by_id[client_id]
        if open_rows:
            return by_id[open_rows[0][0]]
        latest = (
            Ticket.objects.filter(client_id__in=list(by_id))
            .order_by("-last_message_at")
            .values_list("client_id", flat=True)
            .first()
        )
        return by_id[latest] if latest in by_id else client_most_recent(candidates)

    return choose


def _edit_of(message: InboundMessage) -> bool:
    """A client's edit (Meta "edit"): it names the message it edits."""
    return bool((message.media or {}).get("edit") and message.reply_to_provider_id)


def _target_ticket(connection: Any, message: InboundMessage) -> Ticket | None:
    """A reaction, or a client's edit, belongs with the message it names, even on a finished ticket."""
    target = message.reply_to_provider_id
    if not target or (message.kind != Message.Kind.REACTION and not (message.media or {}).get("edit")):
        return None
    ticket_id = Message.objects.by_provider_id(connection, target).values_list("ticket_id", flat=True).first()
    return Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
