"""What agents write on a ticket: replies (text or file), internal notes and approved templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from iaze.lib import blobs, clock
from providers import capabilities
from tickets import outbox
from tickets.activity import ticket_change
from tickets.media import outbound as media_outbound
from tickets.media import store as media
from tickets.models import MediaFile, Message, MessageTemplate, QuickReply, Ticket, TicketEvent, UIState
from tickets.reads.search import ticket_terms_add
from tickets.rules import auto_messages, permissions, window
from tickets.services.common import (
    NotAllowed,
    QuoteRejected,
    ReplyRejected,
    TicketConflict,
    held_by_other,
    seconds_between,
    uuid_lookup,
)
from tickets.services.rollups import ticket_rollup_sync


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


MAX_FILES = 10  # files in one send, each its own message (WhatsApp Web's own cap is higher; a sane bound)


@dataclass(frozen=True)
class StoredAttachment:
    """A file stored before (a quick reply's attachment) to be sent as a reply's file."""

    media_file: MediaFile
    filename: str
    mime_type: str


def ticket_reply(
    *, ticket: Ticket, agent: Any, text: str, nonce: str = "", upload: Any = None, reply_to: str = ""
) -> Message:
    """Store the agent's reply in the outbox, then try to send it now (outside any transaction).

    The state check is itself a conditional write: the ticket is stamped only while it is
    atendendo and held by the agent (or any holder, for a supervisor), so a reply can never be
    queued on a ticket that was closed or taken over a moment before.

    `upload`: an attached file (the text is then its optional caption); see ticket_reply_files.
    `reply_to`: the id of a message of this ticket that the reply quotes (see quote_target).
    """
    if upload is not None:
        return ticket_reply_files(ticket=ticket, agent=agent, files=[(upload, text)], nonce=nonce, reply_to=reply_to)[0]
    text = (text or "").strip("\r\n")
    if not text.strip():
        raise ReplyRejected(_("A mensagem está vazia."))
    quoted = quote_target(ticket, reply_to) if reply_to else None
    text = _caption_checked(ticket, agent, text)
    fresh = _held_for_writing(ticket, agent, _("Só é possível responder um atendimento em Atendendo."))
    window_require_open(fresh)  # text and files alike (a template goes through ticket_template_send)
    message, created = outbox.message_enqueue_outbound(
        ticket=fresh, text=text, agent=agent, nonce=nonce, reply_to=quoted
    )
    if created:
        # The reply's change (recorded as `replied`) was made with the message (tickets.outbox).
        _first_response_stamp(fresh, message)
        outbox.send_soon_if_inline(message)
    return message


def ticket_reply_files(
    *, ticket: Ticket, agent: Any, files: list[tuple[Any, str]], nonce: str = "", reply_to: str = ""
) -> list[Message]:
    """Several files in one send: each (upload or StoredAttachment, caption) becomes its own outbound message,
    in the given order, each with its own caption (signed like a text when the reseller signs replies).

    Every file is checked against the provider's types and limits, and the ticket's state and window, before
    the first one is stored: one refused file refuses the send, nothing stored or sent. Exactly once: the
    form's nonce, numbered per file, makes a double click or a resubmission store each file once.
    `reply_to` quotes a message with the first file."""
    if not files:
        raise ReplyRejected(_("A mensagem está vazia."))
    if len(files) > MAX_FILES:
        raise ReplyRejected(_("Envie no máximo %(n)d arquivos de uma vez.") % {"n": MAX_FILES})
    quoted = quote_target(ticket, reply_to) if reply_to else None
    planned = []
    for source, caption in files:
        caption = (caption or "").strip("\r\n")
        caption = _caption_checked(ticket, agent, caption) if caption.strip() else ""
        try:
            if isinstance(source, StoredAttachment):
                checked = media_outbound.provider_check(
                    ticket.connection, mime_type=source.mime_type, filename=source.filename, size=source.media_file.size
                )
            else:
                checked = media_outbound.outbound_check(ticket.connection, source)
        except media_outbound.MediaRefused as exc:
            name = blobs.safe_filename(getattr(source, "filename", "") or getattr(source, "name", ""))
            raise ReplyRejected(f"{name}: {exc}" if len(files) > 1 else str(exc)) from exc
        planned.append((source, caption, checked))
    fresh = _held_for_writing(ticket, agent, _("Só é possível responder um atendimento em Atendendo."))
    window_require_open(fresh)
    created_now: list[Message] = []
    messages: list[Message] = []
    for n, (source, caption, checked) in enumerate(planned):
        key = nonce if n == 0 or not nonce else f"{nonce[:56]}#{n}"
        already = key and Message.objects.filter(ticket=fresh, client_nonce=key).first()
        if already:
            messages.append(already)  # a double click: this file is queued already
            continue
        if isinstance(source, StoredAttachment):
            stored = source.media_file
        else:
            try:
                stored = media.media_file_store(
                    source.chunks(), reseller_id=fresh.reseller_id, claimed_mime=checked.mime_type
                )
            except blobs.MediaTooLarge as exc:
                raise ReplyRejected(_("O arquivo passa do limite.")) from exc
        details = {"filename": checked.filename, "mime_type": checked.mime_type, "size": checked.size}
        if caption:
            details["caption"] = caption
        if messages:
            details["after"] = str(messages[-1].pk)  # sent only once the file before it has gone (tickets.outbox)
        message, created = outbox.message_enqueue_outbound(
            ticket=fresh,
            text=caption,
            agent=agent,
            nonce=key,
            kind=checked.kind,
            media_file=stored,
            file_type=media.file_type_stored(stored, checked.mime_type),  # this message's own type
            media=details,
            reply_to=quoted if n == 0 else None,
        )
        messages.append(message)
        if created:
            _first_response_stamp(fresh, message)
            created_now.append(message)
    for message in created_now:  # sent in order, once all are queued
        outbox.send_soon_if_inline(message)
    return messages


def ticket_quick_reply_send(
    *, ticket: Ticket, agent: Any, quick_reply: str, text: str, nonce: str = "", reply_to: str = ""
) -> Message:
    """A reply chosen from a quick reply (`/pix`): its file, when it has one, sent as a file with the text in the
    box (the quick reply's text, as the agent left it) as its caption; else the text alone, as ticket_reply.

    The quick reply must be one the ticket's page offers (the tenant's, active, of the ticket's department or
    of every department): anything else is refused (400) before anything is stored."""
    found = uuid_lookup(QuickReply, quick_reply)
    if (
        found is None
        or found.reseller_id != ticket.reseller_id
        or not found.active
        or found.department_id not in (None, ticket.department_id)
    ):
        raise ReplyRejected(_("Resposta rápida desconhecida."))
    if found.media_file_id is None:
        return ticket_reply(ticket=ticket, agent=agent, text=text, nonce=nonce, reply_to=reply_to)
    attachment = StoredAttachment(
        media_file=found.media_file, filename=found.file_name or "arquivo", mime_type=found.file_type
    )
    return ticket_reply_files(ticket=ticket, agent=agent, files=[(attachment, text)], nonce=nonce, reply_to=reply_to)[0]


def _caption_checked(ticket: Ticket, agent: Any, text: str) -> str:
    """The text signed (reply_signed), refused (400) over the provider's length limit."""
    text = reply_signed(ticket=ticket, agent=agent, text=text)
    limit = outbox.max_text_length(ticket.connection)
    if len(text) > limit:
        raise ReplyRejected(
            _("A mensagem tem %(n)d caracteres; o limite do WhatsApp é %(limit)d.") % {"n": len(text), "limit": limit}
        )
    return text


def _first_response_stamp(ticket: Ticket, message: Message) -> None:
    if ticket.first_response_at is not None:
        return
    # The first agent reply, stamped once: only the first of concurrent replies matches the filter.
    stamped = Ticket.objects.filter(pk=ticket.pk, first_response_at__isnull=True).update(
        first_response_at=message.created_at,
        first_response_seconds=seconds_between(ticket.created_at, message.created_at),
    )
    if stamped == 1:
        ticket_rollup_sync(ticket.pk)


def quote_target(ticket: Ticket, value: Any) -> Message:
    """The message a reply quotes: one of this ticket's, that reached WhatsApp (it has a provider id), on a
    connection that sends quotes. Anything else is refused (400) before anything is stored."""
    if not capabilities(ticket.connection).quotes:
        raise QuoteRejected(_("Esta conexão não envia respostas citando uma mensagem."))
    found = uuid_lookup(Message, value)
    if found is None or found.ticket_id != ticket.pk:
        raise QuoteRejected(_("A mensagem citada não é deste atendimento."))
    if found.direction == Message.Direction.NOTE:
        raise QuoteRejected(_("Uma nota interna não pode ser citada: o cliente não a vê."))
    if found.kind in (Message.Kind.REACTION, Message.Kind.SYSTEM):
        raise QuoteRejected(_("Esta mensagem não pode ser citada."))
    if not found.provider_message_id:
        raise QuoteRejected(_("A mensagem citada ainda não foi entregue ao WhatsApp."))
    return found


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
        ticket_change(
            ticket,
            action=TicketEvent.Action.NOTE,
            actor=by,
            to_state=ticket.ui_state,
            at=now,
            values={"updated_at": now},
            data={"message_id": str(note.pk)},
        )
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
    if created:  # its change (recorded as `template`) was made with the message (tickets.outbox)
        outbox.send_soon_if_inline(message)
    return message
