"""The writers of tickets: every change of a ticket's state, and the messages stored on it.

Every state change is one conditional update whose row count is checked
(compare-and-set), so two agents, two gunicorn workers or two provider
retries can never both win. Correctness never relies on transaction.atomic or
select_for_update: both are no-ops on MongoDB. Where a state change and its
TicketEvent are written together, `atomic()` makes them one commit on SQL
databases; on MongoDB the state is written first and the event after it, so a
crash between the two leaves a correct ticket that only lacks its log line.
Delivery state of outbound messages is written by `tickets.outbox`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp.providers.types import InboundMessage

from . import auto_messages, media, outbox, permissions
from .activity import event_record, message_preview, ticket_touch
from .models import Message, Ticket, TicketEvent, UIState

log = logging.getLogger(__name__)


class TicketConflict(Exception):
    """The ticket is not in the state the action needs (lost a race, or moved on)."""

    def __init__(self, ticket: Ticket, message: str):
        super().__init__(message)
        self.ticket = ticket
        self.holder = ticket.agent if ticket.agent_id else None


class NotAllowed(PermissionDenied):
    """The user may not act on this ticket (another agent holds it, wrong department)."""


class ReplyRejected(ValueError):
    """The reply text cannot be sent as it is (empty, or over the provider's limit)."""


def _held_by_other(ticket: Ticket) -> str:
    name = ticket.agent.display_name if ticket.agent else ""
    return _("Este atendimento está com %(name)s.") % {"name": name}


def ticket_claim(*, ticket: Ticket, agent: Any) -> Ticket:
    """Espera → atendendo. Exactly one concurrent caller wins; the others get TicketConflict."""
    if not permissions.may_claim(agent, ticket):
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    now = timezone.now()
    with transaction.atomic():
        won = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=True).update(
            agent=agent, claimed_at=now, updated_at=now
        )
        if won == 1:
            event_record(
                ticket,
                actor=agent,
                action=TicketEvent.Action.CLAIMED,
                from_state=UIState.ESPERA,
                to_state=UIState.ATENDENDO,
                at=now,
            )
    fresh = Ticket.objects.select_related("agent").get(pk=ticket.pk)
    if won != 1:
        raise TicketConflict(fresh, _("Este atendimento já foi assumido ou finalizado."))
    return fresh


def ticket_close(*, ticket: Ticket, by: Any) -> Ticket:
    """Atendendo → finalizado, by the holder or a supervisor of the ticket's reseller."""
    if not by.is_active:
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    now = timezone.now()
    qs = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=False)
    if not permissions.supervises(by, ticket):
        qs = qs.filter(agent=by)  # the holder's own ticket, whatever their departments are now
    with transaction.atomic():
        won = qs.update(status=Ticket.Status.CLOSED, closed_at=now, closed_by=by, updated_at=now)
        if won == 1:
            event_record(
                ticket,
                actor=by,
                action=TicketEvent.Action.CLOSED,
                from_state=UIState.ATENDENDO,
                to_state=UIState.FINALIZADO,
                at=now,
            )
    fresh = Ticket.objects.select_related("agent", "reseller").get(pk=ticket.pk)
    if won != 1:
        if fresh.ui_state == UIState.ATENDENDO and fresh.agent_id != by.pk:
            raise NotAllowed(_held_by_other(fresh))
        raise TicketConflict(fresh, _("Só é possível finalizar um atendimento em Atendendo."))
    config = auto_messages.reseller_config(fresh)
    for auto in auto_messages.after_close(config):
        ticket_auto_message_send(ticket=fresh, auto=auto)
    return fresh


def inbound_route(*, connection: Any, client: Any, at: datetime | None = None) -> tuple[Ticket, bool]:
    """The client's open ticket on this connection, or a new one in espera.

    A closed ticket is never reopened. Concurrent first messages converge on
    one ticket through the partial unique index (connection, client, status=open).
    """
    open_tickets = Ticket.objects.filter(connection=connection, client=client, status=Ticket.Status.OPEN)
    for _attempt in range(5):
        ticket = open_tickets.first()
        if ticket is not None:
            return ticket, False
        try:
            with transaction.atomic():
                ticket = Ticket.objects.create(
                    reseller_id=connection.reseller_id,
                    department_id=connection.default_department_id,
                    client=client,
                    connection=connection,
                    status=Ticket.Status.OPEN,
                    last_message_at=at or timezone.now(),
                )
        except IntegrityError:
            continue  # another worker opened it first: read theirs
        event_record(ticket, actor=None, action=TicketEvent.Action.CREATED, to_state=UIState.ESPERA)
        return ticket, True
    raise RuntimeError(f"could not route a message of client {client.pk} on connection {connection.pk}")


def message_store(
    *,
    ticket: Ticket,
    msg: InboundMessage,
    direction: str = Message.Direction.IN,
    from_business_phone: bool = False,
    delivery_status: str = "",
    source_event_id: Any = None,
) -> Message | None:
    """Store one provider message on a ticket, exactly once. None when it was already stored.

    A photo, voice note, video or document gets its download job recorded with it (tickets.media);
    the worker fetches the file, never the webhook request."""
    at = msg.timestamp or timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                ticket=ticket,
                connection_id=ticket.connection_id,
                direction=direction,
                kind=msg.kind,
                raw_type=msg.raw_type,
                text=msg.text,
                media=_without_nul(msg.media or {}),
                provider_message_id=msg.provider_message_id,
                reply_to_provider_id=msg.reply_to_provider_id,
                provider_timestamp=msg.timestamp,
                from_business_phone=from_business_phone,
                delivery_status=delivery_status,
            )
            media.download_enqueue(message, source_event_id=source_event_id)
    except IntegrityError:
        return None  # the provider delivered it again
    ticket_touch(
        ticket.pk,
        at=at,
        preview=message_preview(msg.kind, msg.text, msg.media),
        inbound=direction == Message.Direction.IN,
    )
    return message


def _without_nul(value: Any) -> Any:
    """PostgreSQL's JSON cannot hold NUL characters, which a provider may pass on in a file name."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def ticket_after_inbound(*, ticket: Ticket, created: bool, at: datetime | None = None) -> None:
    """After a client's message is stored: the reseller's greeting and out-of-hours texts, when due."""
    if ticket.status != Ticket.Status.OPEN:
        return
    config = auto_messages.reseller_config(ticket)
    for auto in auto_messages.after_inbound(config, ticket, created=created, at=at or timezone.now()):
        ticket_auto_message_send(ticket=ticket, auto=auto)


def ticket_auto_message_send(*, ticket: Ticket, auto: auto_messages.AutoText) -> Message | None:
    """Queue an automatic text on the outbox exactly once per ticket and kind.

    The message is queued first under the unique per-ticket nonce `auto:<what>`, then the
    ticket's flag is set: concurrent workers collapse on the nonce, and a crash between the
    two steps cannot lose the text (the next attempt finds the queued one and only sets the flag).
    """
    flag = auto.flag
    if flag and not Ticket.objects.filter(pk=ticket.pk, **{f"{flag}__isnull": True}).exists():
        return None
    message, created = outbox.message_queue(ticket=ticket, text=auto.text, nonce=f"auto:{auto.what}")
    if flag:
        Ticket.objects.filter(pk=ticket.pk, **{f"{flag}__isnull": True}).update(**{flag: timezone.now()})
    if not created:
        return None
    event_record(
        ticket,
        actor=None,
        action=TicketEvent.Action.AUTO_MESSAGE,
        to_state=ticket.ui_state,
        what=auto.what,
        message_id=str(message.pk),
    )
    return message


def ticket_reply(*, ticket: Ticket, agent: Any, text: str, nonce: str = "", upload: Any = None) -> Message:
    """Store the agent's reply in the outbox, then try to send it now (outside any transaction).

    The state check is itself a conditional write: the ticket is stamped only while it is
    atendendo and held by the agent (or any holder, for a supervisor), so a reply can never be
    queued on a ticket that was closed or taken over a moment before.

    `upload`: an attached file (the text is then its optional caption). It is checked against the
    provider's types and limits first; a refused file is neither stored nor sent.
    """
    text = (text or "").strip("\r\n")
    if not text.strip() and upload is None:
        raise ReplyRejected(_("A mensagem está vazia."))
    if not text.strip():
        text = ""
    limit = outbox.max_text_length(ticket.connection)
    if len(text) > limit:
        raise ReplyRejected(
            _("A mensagem tem %(n)d caracteres; o limite do WhatsApp é %(limit)d.") % {"n": len(text), "limit": limit}
        )
    outbound = None
    if upload is not None:
        try:
            outbound = media.outbound_check(ticket.connection, upload)
        except media.MediaRefused as exc:
            raise ReplyRejected(str(exc)) from exc
    holder_ok = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=False)
    if not permissions.supervises(agent, ticket):
        holder_ok = holder_ok.filter(agent=agent)
    ready = holder_ok.update(updated_at=timezone.now()) == 1
    fresh = Ticket.objects.select_related("agent", "connection", "reseller").get(pk=ticket.pk)
    if not ready:
        if fresh.ui_state != UIState.ATENDENDO:
            raise TicketConflict(fresh, _("Só é possível responder um atendimento em Atendendo."))
        raise TicketConflict(fresh, _held_by_other(fresh))
    if outbound is None:
        message, created = outbox.message_enqueue_outbound(ticket=fresh, text=text, agent=agent, nonce=nonce)
    else:
        already = nonce and Message.objects.filter(ticket=fresh, client_nonce=nonce).first()
        if already:
            return already  # a double click: the first copy is queued already
        try:
            stored = media.media_file_store(upload.chunks(), claimed_mime=outbound.mime_type)
        except media.MediaTooLarge as exc:
            raise ReplyRejected(_("O arquivo passa do limite.")) from exc
        details = {"filename": outbound.filename, "mime_type": outbound.mime_type, "size": outbound.size}
        if text:
            details["caption"] = text
        message, created = outbox.message_enqueue_outbound(
            ticket=fresh,
            text=text,
            agent=agent,
            nonce=nonce,
            kind=outbound.kind,
            media_file=stored,
            media=details,
        )
    if created:
        event_record(
            fresh, actor=agent, action=TicketEvent.Action.REPLIED, to_state=fresh.ui_state, message_id=str(message.pk)
        )
        outbox.send_soon_if_inline(message)
    return message
