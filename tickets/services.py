"""The only writers of tickets and messages.

Every state change is one conditional update whose row count is checked
(compare-and-set), so two agents, two gunicorn workers or two provider
retries can never both win. Nothing here relies on transaction.atomic or
select_for_update for correctness: both are no-ops on MongoDB. The only
`atomic()` below is a savepoint that lets SQL databases carry on after an
expected IntegrityError; MongoDB raises the same error without it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from iaze.lib import clock

from .models import Message, Ticket, TicketEvent, UIState

log = logging.getLogger(__name__)

PREVIEW_LENGTH = 200


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


@dataclass(frozen=True)
class InboundMessage:
    """A provider-neutral inbound message, as the adapters produce it."""

    provider_message_id: str
    kind: str = Message.Kind.TEXT
    text: str = ""
    raw_type: str = ""
    media: dict | None = None
    timestamp: datetime | None = None
    reply_to_provider_id: str = ""


def _event(ticket, *, actor, action, from_state="", to_state="", at=None, **data):
    return TicketEvent.objects.create(
        ticket=ticket, actor=actor, action=action, from_state=from_state,
        to_state=to_state, at=clock.to_ms(at) or clock.now(), data=data,
    )


def _can_work_on(user, ticket) -> bool:
    if not user.is_active:
        return False
    if user.is_supervisor_of(ticket.reseller_id):
        return True
    return (
        user.reseller_id == ticket.reseller_id
        and user.departments.filter(pk=ticket.department_id).exists()
    )


def ticket_claim(*, ticket: Ticket, agent) -> Ticket:
    """Espera → atendendo. Exactly one concurrent caller wins; the others get TicketConflict."""
    if not _can_work_on(agent, ticket):
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    now = clock.now()
    won = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=True).update(
        agent=agent, claimed_at=now, updated_at=now
    )
    fresh = Ticket.objects.select_related("agent").get(pk=ticket.pk)
    if won != 1:
        raise TicketConflict(fresh, _("Este atendimento já foi assumido ou finalizado."))
    _event(fresh, actor=agent, action=TicketEvent.Action.CLAIMED,
           from_state=UIState.ESPERA, to_state=UIState.ATENDENDO, at=now)
    return fresh


def ticket_close(*, ticket: Ticket, by) -> Ticket:
    """Atendendo → finalizado, by the holder or a supervisor of the ticket's reseller."""
    supervisor = by.is_supervisor_of(ticket.reseller_id)
    if not supervisor and not _can_work_on(by, ticket):
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    now = clock.now()
    qs = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=False)
    if not supervisor:
        qs = qs.filter(agent=by)
    won = qs.update(status=Ticket.Status.CLOSED, closed_at=now, closed_by=by, updated_at=now)
    fresh = Ticket.objects.select_related("agent", "reseller").get(pk=ticket.pk)
    if won != 1:
        if fresh.ui_state == UIState.ATENDENDO and fresh.agent_id != by.pk:
            raise NotAllowed(_("Este atendimento está com %(name)s.") % {"name": fresh.agent.display_name})
        raise TicketConflict(fresh, _("Só é possível finalizar um atendimento em Atendendo."))
    _event(fresh, actor=by, action=TicketEvent.Action.CLOSED,
           from_state=UIState.ATENDENDO, to_state=UIState.FINALIZADO, at=now)
    from . import auto_messages

    auto_messages.on_ticket_closed(fresh)
    return fresh


def inbound_route(*, connection, client, at: datetime | None = None) -> tuple[Ticket, bool]:
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
                    reseller_id=connection.reseller_id, department_id=connection.default_department_id,
                    client=client, connection=connection, status=Ticket.Status.OPEN,
                    last_message_at=clock.to_ms(at) or clock.now(),
                )
        except IntegrityError:
            continue  # another worker opened it first: read theirs
        _event(ticket, actor=None, action=TicketEvent.Action.CREATED, to_state=UIState.ESPERA)
        return ticket, True
    raise RuntimeError(f"could not route a message of client {client.pk} on connection {connection.pk}")


def _touch_ticket(ticket_id, *, at: datetime, preview: str, inbound: bool) -> None:
    """Move last_message_at (and last_inbound_at) forward only: messages may be stored out of order."""
    changes = {"last_message_at": at, "last_message_preview": preview[:PREVIEW_LENGTH], "updated_at": clock.now()}
    ticket = Ticket.objects.filter(pk=ticket_id)
    newest = Q(last_message_at__isnull=True) | Q(last_message_at__lte=at)
    newest_inbound = Q(last_inbound_at__isnull=True) | Q(last_inbound_at__lte=at)
    if inbound and ticket.filter(newest, newest_inbound).update(**changes, last_inbound_at=at):
        return  # the usual case, the newest message of all, in one write
    ticket.filter(newest).update(**changes)
    if inbound:
        ticket.filter(newest_inbound).update(last_inbound_at=at)


def message_settle(*, ticket: Ticket, message: Message) -> None:
    """Apply a stored message to its ticket's activity if that step is missing (a crash between the
    message's insert and _touch_ticket). Writes nothing when the ticket already reflects it."""
    at = message.provider_timestamp or message.created_at
    inbound = message.direction == Message.Direction.IN
    behind = ticket.last_message_at is None or ticket.last_message_at < at or (
        ticket.last_message_at == at and not ticket.last_message_preview)
    if behind or (inbound and (ticket.last_inbound_at is None or ticket.last_inbound_at < at)):
        _touch_ticket(ticket.pk, at=at, preview=message_preview(message.kind, message.text, message.media),
                      inbound=inbound)


def message_preview(kind: str, text: str, media: dict | None = None) -> str:
    if text:
        return text[:PREVIEW_LENGTH]
    caption = (media or {}).get("caption") or (media or {}).get("filename") or ""
    label = str(Message.Kind(kind).label) if kind in Message.Kind.values else kind
    return f"[{label}] {caption}".strip()[:PREVIEW_LENGTH]


def message_store(
    *, ticket: Ticket, msg: InboundMessage, direction: str = Message.Direction.IN,
    from_business_phone: bool = False, delivery_status: str = "",
) -> Message | None:
    """Store one provider message on a ticket, exactly once. None when it was already stored.

    The message first, then its ticket's activity: a crash in between is completed by
    message_settle when the same message is processed again."""
    try:
        with transaction.atomic():
            message = Message.objects.create(
                ticket=ticket, connection_id=ticket.connection_id, direction=direction, kind=msg.kind,
                raw_type=msg.raw_type, text=msg.text, media=msg.media or {},
                provider_message_id=msg.provider_message_id, reply_to_provider_id=msg.reply_to_provider_id,
                provider_timestamp=clock.to_ms(msg.timestamp), from_business_phone=from_business_phone,
                delivery_status=delivery_status,
            )
    except IntegrityError:
        return None  # the provider delivered it again
    at = message.provider_timestamp or message.created_at
    _touch_ticket(ticket.pk, at=at, preview=message_preview(msg.kind, msg.text, msg.media),
                  inbound=direction == Message.Direction.IN)
    return message


def message_enqueue_outbound(*, ticket: Ticket, text: str, agent=None, nonce: str = "",
                             kind: str = Message.Kind.TEXT) -> tuple[Message, bool]:
    """Store an outbound text as `queued` (the outbox). Returns (message, created)."""
    now = clock.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                ticket=ticket, connection_id=ticket.connection_id, direction=Message.Direction.OUT,
                kind=kind, text=text, sender_agent=agent, client_nonce=nonce,
                delivery_status=Message.Delivery.QUEUED, next_attempt_at=now,
            )
    except IntegrityError:
        if not nonce:
            raise
        return Message.objects.get(ticket=ticket, client_nonce=nonce), False
    _touch_ticket(ticket.pk, at=now, preview=text, inbound=False)
    return message, True


def ticket_reply(*, ticket: Ticket, agent, text: str, nonce: str = "") -> Message:
    """Store the agent's reply in the outbox, then try to send it now (outside any transaction)."""
    from whatsapp import outbox

    text = (text or "").strip("\r\n")
    if not text.strip():
        raise ReplyRejected(_("A mensagem está vazia."))
    limit = outbox.max_text_length(ticket.connection)
    if len(text) > limit:
        raise ReplyRejected(_("A mensagem tem %(n)d caracteres; o limite do WhatsApp é %(limit)d.") % {"n": len(text), "limit": limit})
    fresh = Ticket.objects.select_related("agent", "connection", "reseller").get(pk=ticket.pk)
    if fresh.ui_state != UIState.ATENDENDO:
        raise TicketConflict(fresh, _("Só é possível responder um atendimento em Atendendo."))
    if fresh.agent_id != agent.pk and not agent.is_supervisor_of(fresh.reseller_id):
        raise TicketConflict(fresh, _("Este atendimento está com %(name)s.") % {"name": fresh.agent.display_name})
    message, created = message_enqueue_outbound(ticket=fresh, text=text, agent=agent, nonce=nonce)
    if created:
        _event(fresh, actor=agent, action=TicketEvent.Action.REPLIED, to_state=fresh.ui_state,
               message_id=str(message.pk))
        if getattr(settings, "WHATSAPP_SEND_INLINE", True):
            outbox.send_soon(message)
    return message


# Which delivery states a status may move a message out of: forward only, "failed" only before delivery.
_STATUS_FROM = {
    Message.Delivery.SENT: [Message.Delivery.QUEUED],
    Message.Delivery.DELIVERED: [Message.Delivery.QUEUED, Message.Delivery.SENT],
    Message.Delivery.READ: [Message.Delivery.QUEUED, Message.Delivery.SENT, Message.Delivery.DELIVERED],
    Message.Delivery.FAILED: [Message.Delivery.QUEUED, Message.Delivery.SENT],
}


def message_apply_status(*, connection, provider_message_id: str, status: str, at: datetime | None = None,
                         error_code: str = "", error_text: str = "") -> bool:
    """Apply a provider receipt to the outbound message it names. True when the state moved.

    Receipts arrive out of order and more than once; one conditional update keeps the
    state moving forward only (a late "sent" after "read" matches no row and changes nothing).
    """
    status = "read" if status == "played" else status
    if status not in _STATUS_FROM or not provider_message_id:
        log.info("status %r for %s ignored: not a delivery state", status, provider_message_id)
        return False
    at = clock.to_ms(at) or clock.now()
    changes = {"delivery_status": status, "updated_at": clock.now()}
    if status == Message.Delivery.FAILED:
        changes.update(error_code=str(error_code)[:32], error_text=error_text)
    else:
        changes[{"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}[status]] = at
    moved = Message.objects.by_provider_id(connection, provider_message_id).filter(
        direction=Message.Direction.OUT, delivery_status__in=_STATUS_FROM[status],
    ).update(**changes)
    if not moved and not Message.objects.by_provider_id(connection, provider_message_id).exists():
        log.info("status %r for unknown message %s on connection %s ignored", status, provider_message_id,
                 connection.pk)
    return moved == 1
