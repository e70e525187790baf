"""What agents write on a ticket: replies (text or file), internal notes and approved templates."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from iaze.lib import clock

from .. import auto_messages, media, outbox, permissions, window
from ..activity import event_record
from ..models import Message, MessageTemplate, Ticket, TicketEvent, UIState
from ..search import ticket_terms_add
from .common import NotAllowed, ReplyRejected, TicketConflict, held_by_other, seconds_between, uuid_lookup
from .rollups import ticket_rollup_sync


def _held_for_writing(ticket: Ticket, agent: Any, not_atendendo: str) -> Ticket:
    """Stamp the ticket only while it is atendendo and held by `agent` (any holder, for a supervisor):
    one conditional write, so nothing is queued on a ticket closed or taken over a moment before."""
    holder_ok = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=False)
    if not permissions.supervises(agent, ticket):
        holder_ok = holder_ok.filter(agent=agent)
    ready = holder_ok.update(updated_at=clock.now()) == 1
    fresh = Ticket.objects.select_related("agent", "connection", "reseller").get(pk=ticket.pk)
    if not ready:
        if fresh.ui_state != UIState.ATENDENDO:
            raise TicketConflict(fresh, not_atendendo)
        raise TicketConflict(fresh, held_by_other(fresh))
    return fresh


def reply_signed(*, ticket: Ticket, agent: Any, text: str) -> str:
    """The text as typed, or, when the reseller turns "assinar respostas" on, signed the way
    WhatsApp helpdesks do it: the agent's name in bold on its own line above the text."""
    config = auto_messages.reseller_config(ticket)
    if config is None or not config.reply_signature:
        return text
    name = (getattr(agent, "display_name", "") or "").strip().replace("*", "")
    return f"*{name}*:\n{text}" if name else text


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
        text = ""  # a file without a caption
    if text:
        text = reply_signed(ticket=ticket, agent=agent, text=text)
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
    fresh = _held_for_writing(ticket, agent, _("Só é possível responder um atendimento em Atendendo."))
    window_require_open(fresh)  # text and files alike (a template goes through ticket_template_send)
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
        if fresh.first_response_at is None:
            # The first agent reply, stamped once: only the first of concurrent replies matches the filter.
            stamped = Ticket.objects.filter(pk=fresh.pk, first_response_at__isnull=True).update(
                first_response_at=message.created_at,
                first_response_seconds=seconds_between(fresh.created_at, message.created_at),
            )
            if stamped == 1:
                ticket_rollup_sync(fresh.pk)
        outbox.send_soon_if_inline(message)
    return message


def window_require_open(ticket: Ticket) -> None:
    """Free text and files only inside Meta's 24-hour window: a closed window is a 409 naming why."""
    if window.is_open(ticket):
        return
    end = window.closes_at(ticket)
    when = timezone.localtime(end).strftime("%d/%m %H:%M") if end else ""
    raise TicketConflict(
        ticket,
        _(
            "A janela de 24 horas do WhatsApp fechou em %(when)s: o cliente não escreve há mais de 24 horas. "
            "Envie um modelo aprovado para retomar a conversa."
        )
        % {"when": when},
    )


NOTE_MAX_LENGTH = 50_000


def ticket_note_add(*, ticket: Ticket, by: Any, text: str) -> Message:
    """An internal note on the thread, in any state. Stored with direction NOTE: the outbox only ever
    selects OUT messages and the adapters refuse anything else, so a note can never reach the client."""
    text = (text or "").strip()
    if not text:
        raise ReplyRejected(_("A nota está vazia."))
    if len(text) > NOTE_MAX_LENGTH:
        raise ReplyRejected(_("A nota passa de %(limit)d caracteres.") % {"limit": NOTE_MAX_LENGTH})
    if not permissions.may_note(by, ticket):
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    now = clock.now()
    with transaction.atomic():
        note = Message.objects.create(
            ticket=ticket,
            connection_id=ticket.connection_id,
            direction=Message.Direction.NOTE,
            kind=Message.Kind.TEXT,
            text=text,
            sender_agent=by,
        )
        ticket_terms_add(ticket, text)
        event_record(
            ticket, actor=by, action=TicketEvent.Action.NOTE, to_state=ticket.ui_state, at=now, message_id=str(note.pk)
        )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    return note


def ticket_template_send(*, ticket: Ticket, agent: Any, template: str, params: list[str], nonce: str = "") -> Message:
    """Queue an approved template on the outbox (in or out of the window), then try to send it now.

    `template` is the template's id; `params` fill its {{1}}, {{2}}… in order, each required.
    """
    found = uuid_lookup(MessageTemplate, template)
    if found is None or found.connection_id != ticket.connection_id:
        raise ReplyRejected(_("Modelo desconhecido."))
    if found.status != MessageTemplate.Status.APPROVED:
        raise ReplyRejected(_("O modelo %(name)s não está aprovado.") % {"name": found.name})
    values = [str(p).strip() for p in params]
    for n in range(1, found.param_count + 1):
        if n > len(values) or not values[n - 1]:
            raise ReplyRejected(_("Falta o parâmetro %(n)d do modelo.") % {"n": n})
    values = values[: found.param_count]
    fresh = _held_for_writing(ticket, agent, _("Só é possível enviar um modelo em um atendimento em Atendendo."))
    message, created = outbox.message_enqueue_template(
        ticket=fresh,
        text=found.render(values),
        template={"name": found.name, "language": found.language, "params": values},
        agent=agent,
        nonce=nonce,
    )
    if created:
        event_record(
            fresh,
            actor=agent,
            action=TicketEvent.Action.TEMPLATE,
            to_state=fresh.ui_state,
            message_id=str(message.pk),
            template=found.name,
        )
        outbox.send_soon_if_inline(message)
    return message
