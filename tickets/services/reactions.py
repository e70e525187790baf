"""An agent's reaction to a client's message: an outbox item like a reply, sent exactly once."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from providers import capabilities
from tickets import outbox
from tickets.models import Message, Ticket
from tickets.rules.emoji import is_one_emoji
from tickets.services.common import ReplyRejected, uuid_lookup
from tickets.services.replies import _held_for_writing, window_require_open


def ticket_react(*, ticket: Ticket, agent: Any, message: Any, emoji: str, nonce: str = "") -> Message:
    """React with `emoji` to the client's message `message` (its id) of this ticket; an empty emoji takes
    the reaction back. Refused like a reply: 400 for what is wrong with the request (ReplyRejected), 409
    unless the ticket is atendendo and held by `agent` (or a supervisor), or outside the 24-hour window
    (TicketConflict). The reaction is queued, then sent now when it can be, like a reply."""
    emoji = (emoji or "").strip()
    if emoji and not is_one_emoji(emoji):
        raise ReplyRejected(_("Reaja com um único emoji (ou deixe vazio para remover a reação)."))
    if not capabilities(ticket.connection).reacts:
        raise ReplyRejected(_("Esta conexão não envia reações."))
    target = uuid_lookup(Message, message)
    if target is None or target.ticket_id != ticket.pk:
        raise ReplyRejected(_("A mensagem não é deste atendimento."))
    if target.direction != Message.Direction.IN or target.kind in (Message.Kind.REACTION, Message.Kind.SYSTEM):
        raise ReplyRejected(_("Só é possível reagir a uma mensagem do cliente."))
    if not target.provider_message_id:
        raise ReplyRejected(_("Esta mensagem não pode receber reação."))
    fresh = _held_for_writing(ticket, agent, _("Só é possível reagir em um atendimento em Atendendo."))
    window_require_open(fresh)
    reaction, created = outbox.message_enqueue_reaction(
        ticket=fresh, target=target, emoji=emoji, agent=agent, nonce=nonce
    )
    if created:
        outbox.send_soon_if_inline(reaction)
    return reaction
