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
import uuid
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, User
from iaze.lib import clock
from whatsapp.providers.types import InboundMessage

from . import auto_messages, localtime, media, menu, outbox, permissions, satisfaction, window
from .activity import event_record, message_preview, ticket_touch
from .models import Message, MessageTemplate, Ticket, TicketEvent, UIState

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


class TransferRejected(ValueError):
    """The transfer's target is wrong (unknown, another tenant, inactive, not in the department)."""


def _held_by_other(ticket: Ticket) -> str:
    name = ticket.agent.display_name if ticket.agent else ""
    return _("Este atendimento está com %(name)s.") % {"name": name}


def ticket_claim(*, ticket: Ticket, agent: Any) -> Ticket:
    """Espera → atendendo. Exactly one concurrent caller wins; the others get TicketConflict."""
    if not permissions.may_claim(agent, ticket):
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    now = clock.now()
    unclaimed = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=True)
    if not permissions.supervises(agent, ticket):
        # The department the permission was checked against: the menu may have moved the ticket meanwhile.
        unclaimed = unclaimed.filter(department_id=ticket.department_id)
    with transaction.atomic():
        won = unclaimed.update(agent=agent, claimed_at=now, updated_at=now)
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
    tz = localtime.tenant_timezone(ticket.reseller_id)
    now = clock.now()
    qs = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=False)
    if not permissions.supervises(by, ticket):
        qs = qs.filter(agent=by)  # the holder's own ticket, whatever their departments are now
    with transaction.atomic():
        won = qs.update(
            status=Ticket.Status.CLOSED,
            closed_at=now,
            closed_by=by,
            updated_at=now,
            resolution_seconds=_seconds_between(ticket.created_at, now),
            **localtime.closed_stamps(now, tz),
        )
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
    for auto in satisfaction.after_close(config, fresh, now=now):
        ticket_auto_message_send(ticket=fresh, auto=auto)
    return fresh


def _seconds_between(start: datetime | None, end: datetime) -> int | None:
    """Whole seconds from a ticket's opening (its first message) to `end`, for the reports."""
    # Rounded, not truncated: stamps a few milliseconds apart (iaze.lib.clock) must not lose a second.
    return None if start is None else max(0, round((end - start).total_seconds()))


def inbound_route(*, connection: Any, client: Any, at: datetime | None = None) -> tuple[Ticket, bool]:
    """The client's open ticket on this connection, or a new one in espera.

    A closed ticket is never reopened. Concurrent first messages converge on
    one ticket through the partial unique index (connection, client, status=open).
    """
    open_tickets = Ticket.objects.filter(connection=connection, client=client, status=Ticket.Status.OPEN)
    tz = None
    for _attempt in range(5):
        ticket = open_tickets.first()
        if ticket is not None:
            return ticket, False
        tz = tz or localtime.tenant_timezone(connection.reseller_id)
        # The reports' local day and hour (tickets.localtime), in the insert itself. created_at is stamped
        # by the same clock in the same call (a millisecond later at most, unless the clock is frozen).
        now = clock.now()
        try:
            with transaction.atomic():
                ticket = Ticket.objects.create(
                    reseller_id=connection.reseller_id,
                    department_id=connection.default_department_id,
                    client=client,
                    connection=connection,
                    status=Ticket.Status.OPEN,
                    last_message_at=clock.to_ms(at) or now,
                    **localtime.opened_stamps(now, tz),
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

    The message first, then its ticket's activity: a crash in between is completed by
    message_settle when the same message is processed again.

    A photo, voice note, video or document gets its download job recorded with it (tickets.media);
    the worker fetches the file, never the webhook request."""
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
                provider_timestamp=clock.to_ms(msg.timestamp),
                from_business_phone=from_business_phone,
                delivery_status=delivery_status,
            )
            media.download_enqueue(message, source_event_id=source_event_id)
    except IntegrityError:
        return None  # the provider delivered it again
    at = message.provider_timestamp or message.created_at
    ticket_touch(
        ticket.pk,
        at=at,
        preview=message_preview(msg.kind, msg.text, msg.media),
        inbound=direction == Message.Direction.IN,
        # The 24-hour window counts from the provider's stamp, never later than the message reached
        # us: a client's clock ahead of ours must not stretch it (tickets.window).
        inbound_at=min(at, clock.now()),
    )
    return message


def message_settle(*, ticket: Ticket, message: Message) -> None:
    """Apply a stored message to its ticket's activity if that step is missing (a crash between the
    message's insert and ticket_touch). Writes nothing when the ticket already reflects it."""
    at = message.provider_timestamp or message.created_at
    inbound = message.direction == Message.Direction.IN
    behind = (
        ticket.last_message_at is None
        or ticket.last_message_at < at
        or (ticket.last_message_at == at and not ticket.last_message_preview)
    )
    if behind or (inbound and (ticket.last_inbound_at is None or ticket.last_inbound_at < at)):
        ticket_touch(
            ticket.pk, at=at, preview=message_preview(message.kind, message.text, message.media), inbound=inbound
        )


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
    for auto in auto_messages.after_inbound(config, ticket, created=created, at=at or clock.now()):
        ticket_auto_message_send(ticket=ticket, auto=auto)


def ticket_menu_after_inbound(
    *, ticket: Ticket, created: bool, department_menu: menu.DepartmentMenu | None, kind: str, text: str
) -> str:
    """The department menu's part after a client's message was stored (after greeting and out-of-hours).

    A new ticket gets the menu; while the ticket waits unclaimed, the client's answer moves it to the
    chosen department's espera (one conditional update: still open, unclaimed, unanswered, in the
    department it was in) and confirms; any other answer repeats the menu, at most twice. Returns what
    happened: "", "offered", "routed", "repeated".
    """
    if department_menu is None or not department_menu.usable:
        return ""
    fresh = Ticket.objects.filter(pk=ticket.pk).first()
    if fresh is None:
        return ""
    if created:
        return "offered" if _menu_prompt(fresh, department_menu, sent=0) else ""
    if not menu.awaiting_answer(fresh) or kind in menu.NOT_AN_ANSWER:
        return ""
    option = menu.choice(department_menu, kind=kind, text=text)
    if option is None:
        if fresh.menu_prompts_sent >= menu.MAX_PROMPTS:
            return ""
        return "repeated" if _menu_prompt(fresh, department_menu, sent=fresh.menu_prompts_sent) else ""
    now = clock.now()
    with transaction.atomic():
        won = Ticket.objects.filter(
            pk=fresh.pk,
            status=Ticket.Status.OPEN,
            agent__isnull=True,
            menu_done_at__isnull=True,
            department_id=fresh.department_id,
        ).update(department_id=option.department_id, menu_done_at=now, updated_at=now)
        if won == 1:
            event_record(
                fresh,
                actor=None,
                action=TicketEvent.Action.MENU_ROUTED,
                from_state=UIState.ESPERA,
                to_state=UIState.ESPERA,
                at=now,
                by="menu",
                choice=option.number,
                from_department=str(fresh.department_id),
                to_department=str(option.department_id),
            )
    if won != 1:
        return ""  # claimed, answered or moved a moment before: the answer is an ordinary message
    ticket_auto_message_send(
        ticket=fresh, auto=auto_messages.AutoText("menu_confirm", menu.confirmation(option), flag=None)
    )
    return "routed"


def _menu_prompt(ticket: Ticket, department_menu: menu.DepartmentMenu, *, sent: int) -> bool:
    """Send the menu for the (sent+1)-th time, if the count still says `sent` and nobody claimed the ticket.

    The count moves first (one conditional update), so of two answers at once only one repeats the menu,
    and a ticket claimed a moment before never gets it. A crash between the two steps costs one menu,
    never a ticket: it already waits in the connection's default department.
    """
    won = Ticket.objects.filter(
        pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=True, menu_prompts_sent=sent, menu_done_at__isnull=True
    ).update(menu_prompts_sent=sent + 1, updated_at=clock.now())
    if won != 1:
        return False
    auto = auto_messages.AutoText(f"menu:{sent + 1}", menu.render(department_menu), flag=None)
    ticket_auto_message_send(ticket=ticket, auto=auto)
    return True


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
        Ticket.objects.filter(pk=ticket.pk, **{f"{flag}__isnull": True}).update(**{flag: clock.now()})
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
    holder_ok = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=False)
    if not permissions.supervises(agent, ticket):
        holder_ok = holder_ok.filter(agent=agent)
    ready = holder_ok.update(updated_at=clock.now()) == 1
    fresh = Ticket.objects.select_related("agent", "connection", "reseller").get(pk=ticket.pk)
    if not ready:
        if fresh.ui_state != UIState.ATENDENDO:
            raise TicketConflict(fresh, _("Só é possível responder um atendimento em Atendendo."))
        raise TicketConflict(fresh, _held_by_other(fresh))
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
            Ticket.objects.filter(pk=fresh.pk, first_response_at__isnull=True).update(
                first_response_at=message.created_at,
                first_response_seconds=_seconds_between(fresh.created_at, message.created_at),
            )
        outbox.send_soon_if_inline(message)
    return message


# --- the 24-hour window, transfer, internal notes, templates, what the client does to messages ----------


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


def _uuid_lookup(model, value):
    try:
        return model.objects.filter(pk=uuid.UUID(str(value))).first()
    except (ValueError, TypeError):
        return None


def _transfer_department(ticket: Ticket, value: str) -> Department | None:
    if not value:
        return None
    department = _uuid_lookup(Department, value)
    if department is None:
        raise TransferRejected(_("Departamento desconhecido."))
    if department.reseller_id != ticket.reseller_id:
        raise TransferRejected(_("O departamento é de outra revenda."))
    if not department.active:
        raise TransferRejected(_("O departamento %(name)s está inativo.") % {"name": department.name})
    return department


def _transfer_agent(ticket: Ticket, value: str, department_id) -> User | None:
    if not value:
        return None
    agent = _uuid_lookup(User, value)
    if agent is None:
        raise TransferRejected(_("Agente desconhecido."))
    if agent.reseller_id != ticket.reseller_id:
        raise TransferRejected(_("O agente é de outra revenda."))
    if not agent.is_active:
        raise TransferRejected(_("O agente %(name)s está inativo.") % {"name": agent.display_name})
    if not agent.departments.filter(pk=department_id).exists():
        name = Department.objects.filter(pk=department_id).values_list("name", flat=True).first() or ""
        raise TransferRejected(
            _("O agente %(name)s não pertence ao departamento %(dept)s.") % {"name": agent.display_name, "dept": name}
        )
    return agent


def ticket_transfer(
    *, ticket: Ticket, by: Any, agent: str = "", department: str = "", seen: tuple[str, str] | None = None
) -> Ticket:
    """Hand a ticket to another agent (atendendo stays atendendo) or department (espera stays espera).

    `ticket` is the ticket as the caller saw it: the write is conditional on its status, holder and
    department still being those, so a concurrent claim, close or transfer makes this a TicketConflict.
    `agent` and `department` are the targets' ids as the form sent them. `seen` is (holder, department)
    as the agent's page showed them, when the form carried them: a page older than the ticket is a
    TicketConflict too, so two people transferring from the same page never both win.
    """
    if seen is not None and seen != (str(ticket.agent_id or ""), str(ticket.department_id)):
        raise TicketConflict(ticket, _("O atendimento mudou enquanto você o transferia; confira e tente de novo."))
    state = ticket.ui_state
    if state == UIState.FINALIZADO:
        raise TicketConflict(ticket, _("Só é possível transferir um atendimento em Espera ou Atendendo."))
    if not permissions.may_transfer(by, ticket):
        if state == UIState.ATENDENDO and ticket.agent_id != by.pk:
            raise NotAllowed(_held_by_other(ticket))
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    agent, department = (agent or "").strip(), (department or "").strip()
    if not agent and not department:
        raise TransferRejected(_("Escolha um agente ou um departamento."))
    new_department = _transfer_department(ticket, department)
    department_id = new_department.pk if new_department else ticket.department_id
    if state == UIState.ESPERA:
        if agent:
            raise TransferRejected(
                _("Um atendimento em Espera é transferido a um departamento; um agente de lá o assume.")
            )
        if department_id == ticket.department_id:
            raise TransferRejected(_("O atendimento já está neste departamento."))
        new_agent = None
    else:
        if not agent:
            raise TransferRejected(
                _("Um atendimento em Atendendo não volta para a Espera: escolha o agente que vai atendê-lo.")
            )
        new_agent = _transfer_agent(ticket, agent, department_id)
        if new_agent and new_agent.pk == ticket.agent_id and department_id == ticket.department_id:
            raise TransferRejected(_("O atendimento já está com %(name)s.") % {"name": new_agent.display_name})
    now = clock.now()
    as_it_was = Ticket.objects.filter(
        pk=ticket.pk, status=Ticket.Status.OPEN, department_id=ticket.department_id, agent_id=ticket.agent_id
    )
    changes: dict[str, Any] = {"department_id": department_id, "updated_at": now}
    if new_agent is not None:
        changes.update(agent=new_agent, claimed_at=now)
    with transaction.atomic():
        won = as_it_was.update(**changes)
        if won == 1:
            event_record(
                ticket,
                actor=by,
                action=TicketEvent.Action.TRANSFERRED,
                from_state=state,
                to_state=state,
                at=now,
                from_agent=str(ticket.agent_id or ""),
                to_agent=str(new_agent.pk if new_agent else ticket.agent_id or ""),
                from_department=str(ticket.department_id),
                to_department=str(department_id),
                to_agent_name=new_agent.display_name if new_agent else "",
                to_department_name=new_department.name if new_department else ticket.department.name,
            )
    fresh = Ticket.objects.select_related("agent", "department", "connection", "reseller").get(pk=ticket.pk)
    if won != 1:
        raise TicketConflict(fresh, _("O atendimento mudou enquanto você o transferia; confira e tente de novo."))
    _transfer_notice(fresh)
    return fresh


def _transfer_notice(ticket: Ticket) -> None:
    """The reseller's optional message to the client on a transfer (off while its text is empty)."""
    config = auto_messages.reseller_config(ticket)
    text = (config.transfer_text if config else "").strip()
    if not text or not window.is_open(ticket):
        return
    text = text.replace("{{departamento}}", ticket.department.name).replace(
        "{{agente}}", ticket.agent.display_name if ticket.agent else ""
    )
    what = f"transfer:{ticket.updated_at.timestamp():.6f}"
    ticket_auto_message_send(ticket=ticket, auto=auto_messages.AutoText(what, text))


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
        event_record(
            ticket, actor=by, action=TicketEvent.Action.NOTE, to_state=ticket.ui_state, at=now, message_id=str(note.pk)
        )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    return note


def ticket_template_send(*, ticket: Ticket, agent: Any, template: str, params: list[str], nonce: str = "") -> Message:
    """Queue an approved template on the outbox (in or out of the window), then try to send it now.

    `template` is the template's id; `params` fill its {{1}}, {{2}}… in order, each required.
    """
    found = _uuid_lookup(MessageTemplate, template)
    if found is None or found.connection_id != ticket.connection_id:
        raise ReplyRejected(_("Modelo desconhecido."))
    if found.status != MessageTemplate.Status.APPROVED:
        raise ReplyRejected(_("O modelo %(name)s não está aprovado.") % {"name": found.name})
    values = [str(p).strip() for p in params]
    for n in range(1, found.param_count + 1):
        if n > len(values) or not values[n - 1]:
            raise ReplyRejected(_("Falta o parâmetro %(n)d do modelo.") % {"n": n})
    values = values[: found.param_count]
    holder_ok = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=False)
    if not permissions.supervises(agent, ticket):
        holder_ok = holder_ok.filter(agent=agent)
    ready = holder_ok.update(updated_at=clock.now()) == 1
    fresh = Ticket.objects.select_related("agent", "connection", "reseller").get(pk=ticket.pk)
    if not ready:
        if fresh.ui_state != UIState.ATENDENDO:
            raise TicketConflict(fresh, _("Só é possível enviar um modelo em um atendimento em Atendendo."))
        raise TicketConflict(fresh, _held_by_other(fresh))
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


def message_client_edit(*, connection: Any, provider_message_id: str, text: str, at: datetime | None = None) -> bool:
    """The client edited a message: the new text shows, every previous one is kept. True when applied."""
    target = (
        Message.objects.by_provider_id(connection, provider_message_id).filter(direction=Message.Direction.IN).first()
    )
    if target is None:
        return False
    now = clock.now()
    moved = Message.objects.filter(pk=target.pk, text=target.text, edited_at=target.edited_at).update(
        text=text,
        previous_texts=[*(target.previous_texts or []), target.text],
        edited_at=at or now,
        updated_at=now,
    )
    return moved == 1


def message_client_delete(*, connection: Any, provider_message_id: str, at: datetime | None = None) -> bool:
    """The client deleted a message for everyone: it stays, marked. True when newly marked."""
    now = clock.now()
    return (
        Message.objects.by_provider_id(connection, provider_message_id)
        .filter(direction=Message.Direction.IN, deleted_by_client_at__isnull=True)
        .update(deleted_by_client_at=at or now, updated_at=now)
        == 1
    )


def rating_answer_ingest(*, connection: Any, client: Any, msg: InboundMessage) -> Ticket | None:
    """A client's answer to the rating question: stored on the closed ticket, thanked, no new ticket.

    Returns the rated ticket, or None when the message is not such an answer (the caller routes it as
    usual). The rating is one conditional update (closed, not rated yet, asked within 24 hours) whose
    row count decides: a second answer, or a concurrent one that lost, changes nothing and is routed.
    """
    if not satisfaction.is_text(msg.kind):
        return None
    rating = satisfaction.parse_rating(msg.text)
    if rating is None:
        return None
    now = clock.now()
    at = msg.timestamp or now
    message_id = msg.provider_message_id
    ticket = satisfaction.awaiting_answer(connection=connection, client=client, at=at, message_id=message_id)
    if ticket is None:
        return None
    won = Ticket.objects.filter(
        pk=ticket.pk,
        status=Ticket.Status.CLOSED,
        rating__isnull=True,
        rating_asked_at__gte=at - satisfaction.ANSWER_WINDOW,
    ).update(rating=rating, rated_at=at, rating_message_id=msg.provider_message_id, updated_at=now)
    if won != 1:
        # Not rated by us: another answer won, unless this very message set it before a crash (a replay).
        mine = Ticket.objects.filter(pk=ticket.pk, rating_message_id=msg.provider_message_id)
        if not msg.provider_message_id or not mine.exists():
            return None
    message_store(ticket=ticket, msg=msg)
    if won == 1:
        event_record(
            ticket, actor=None, action=TicketEvent.Action.RATED, to_state=UIState.FINALIZADO, at=at, rating=rating
        )
    for auto in satisfaction.thanks(auto_messages.reseller_config(ticket)):
        ticket_auto_message_send(ticket=ticket, auto=auto)
    return Ticket.objects.get(pk=ticket.pk)


def client_data_export_log(*, client: Any, by: Any, export_name: str, counts: dict[str, int]) -> int:
    """Log a client's data export (LGPD) as an event on each of the client's tickets. Changes nothing else.

    Returns how many events were written (none when the client has no ticket; the export is logged
    by `reports.lgpd` too)."""
    written = 0
    for ticket in Ticket.objects.filter(client=client).order_by("created_at"):
        event_record(
            ticket,
            actor=by,
            action=TicketEvent.Action.DATA_EXPORTED,
            to_state=ticket.ui_state,
            export=export_name,
            counts=counts,
        )
        written += 1
    return written
