"""An integration's bot writing to a ticket in espera: the client gets an answer before any agent claims it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from iaze.lib import clock
from tickets import outbox
from tickets.models import Message, Ticket, TicketEvent, UIState
from tickets.rules import permissions
from tickets.services.common import NotAllowed, ReplyRejected, TicketConflict
from tickets.services.replies import window_require_open


def ticket_bot_message(*, ticket: Ticket, bot: Any, text: str, nonce: str = "") -> Message:
    """Queue a bot's text on the outbox, sent like an automatic text; the ticket stays in espera.

    The state check is a conditional write, as for a reply: the ticket is stamped only while it is open and
    unclaimed, so a claimed or closed ticket refuses the bot (TicketConflict: the agent has it now).
    `nonce`: the caller's idempotency key (a retried request stores one message).
    """
    if not permissions.is_tenant_bot(bot, ticket):
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    text = (text or "").strip("\r\n")
    if not text.strip():
        raise ReplyRejected(_("A mensagem está vazia."))
    limit = outbox.max_text_length(ticket.connection)
    if len(text) > limit:
        raise ReplyRejected(
            _("A mensagem tem %(n)d caracteres; o limite do WhatsApp é %(limit)d.") % {"n": len(text), "limit": limit}
        )
    waiting = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=True)
    ready = waiting.update(updated_at=clock.now()) == 1
    fresh = Ticket.objects.select_related("agent", "connection", "reseller").get(pk=ticket.pk)
    if not ready:
        if fresh.ui_state == UIState.ATENDENDO:
            raise TicketConflict(fresh, _("Este atendimento já foi assumido: o bot não escreve mais nele."))
        raise TicketConflict(fresh, _("Este atendimento foi finalizado."))
    window_require_open(fresh)
    message, _created = outbox.message_queue(
        ticket=fresh,
        text=text,
        agent=bot,
        nonce=nonce,
        action=TicketEvent.Action.AUTO_MESSAGE,
        record={"what": "bot"},
    )
    return message
