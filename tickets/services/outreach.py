"""Reaching a contact: an agent starts a conversation now (Novo atendimento) or schedules a message (Agendamentos).

`conversation_start` opens a new ticket already in atendendo, held by the agent, in one of their departments,
and queues its first message on the outbox like a reply. The ticket is inserted under the same partial unique
index that makes concurrent first messages of a client converge (one open ticket per client and connection):
of two agents starting at once, one insert wins and the other finds that ticket (AlreadyOpen), so there is
never a second open ticket and the loser's text is not sent. The creation is one change, `started`, by the agent.

A scheduled message is a durable job (tickets.queues.SCHEDULED): `schedule_create` stores it with its send time
as the job's `not_before`; `scheduled_send` is one attempt of the worker: the claim (agendada → enviando, one
conditional write: exactly one worker wins), then the message queued on the outbox under a nonce made from the
job's id, so an attempt repeated after a crash finds the message it queued and never queues a second one;
then enviada, naming the ticket and the message. What the moment does not allow (the agent deactivated, the
contact's open ticket in espera or someone else's, a text outside Meta's window, a template no longer
approved) is final: falhou, with the reason, nothing queued. `schedule_cancel` is one conditional write from
agendada.

Every check that refuses happens before anything is written: bad input changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Client, Department
from iaze.lib import clock
from tickets import outbox
from tickets.activity import created_change, ticket_created_record
from tickets.models import Message, MessageTemplate, ScheduledMessage, Ticket, TicketEvent, UIState
from tickets.queues import SCHEDULED
from tickets.reads import reach_out
from tickets.rules import localtime, window
from tickets.services.common import uuid_lookup
from tickets.services.replies import reply_signed
from tickets.services.rollups import ticket_rollup_sync

log = logging.getLogger(__name__)

# Rounds of "insert the ticket, or find the open one": a round lost only to a ticket closed a moment after
# its insert won, so this bounds a pathological churn, not a wait.
ROUNDS = 5


class ReachOutRejected(ValueError):
    """The request cannot be done as asked (empty, unknown template, missing parameter, a connection or
    department that is not the user's, a send time in the past): 400, nothing changed."""


class ReachOutConflict(Exception):
    """The contact's state does not allow it now (outside Meta's window; an open ticket exists): 409."""

    def __init__(self, message: str, ticket: Ticket | None = None):
        super().__init__(message)
        self.ticket = ticket


class AlreadyOpen(ReachOutConflict):
    """The contact already has an open ticket on that connection: the caller goes there (when the user may
    see it) or is told whose it is. Nothing was stored or sent."""


class ScheduleConflict(Exception):
    """The scheduled message is no longer agendada (sent, being sent, failed): 409."""

    def __init__(self, message: str, scheduled: ScheduledMessage):
        super().__init__(message)
        self.scheduled = scheduled


class _Refused(Exception):
    """A scheduled message that cannot be sent at its time: it ends falhou, with this reason."""


@dataclass
class Content:
    text: str = ""
    template: MessageTemplate | None = None
    params: list[str] = field(default_factory=list)


# --- what the request asks for -----------------------------------------------------------------------


def _choose(user: Any, reseller_id: Any, connection: Any, department: Any) -> tuple[Any, Department]:
    """The connection and department the user asked for, when they may use them (a lone one may be left out)."""
    if not reach_out.acts_for_tenant(user, reseller_id):
        raise ReachOutRejected(_("Este contato não pertence à sua revenda."))
    connections = reach_out.connections_for(user, reseller_id)
    departments = reach_out.departments_for(user, reseller_id)
    return (
        _pick(connections, connection, missing=_("Escolha a conexão."), wrong=_("Conexão inválida.")),
        _pick(departments, department, missing=_("Escolha o departamento."), wrong=_("Departamento inválido.")),
    )


def _pick(choices: list, value: Any, *, missing: str, wrong: str) -> Any:
    value = str(value or "").strip()
    if not value:
        if len(choices) == 1:
            return choices[0]
        raise ReachOutRejected(missing)
    found = next((c for c in choices if str(c.pk) == value or c.pk.hex == value), None)
    if found is None:
        raise ReachOutRejected(wrong)
    return found


def _content(connection: Any, *, text: str, template: Any, params: Any) -> Content:
    """A text or an approved template of this connection with every parameter filled in."""
    text = (text or "").strip("\r\n")
    template = str(template or "").strip()
    if template:
        if text.strip():
            raise ReachOutRejected(_("Envie um texto ou um modelo, não os dois."))
        found = uuid_lookup(MessageTemplate, template)
        if found is None or found.connection_id != connection.pk:
            raise ReachOutRejected(_("Modelo desconhecido."))
        if found.status != MessageTemplate.Status.APPROVED:
            raise ReachOutRejected(_("O modelo %(name)s não está aprovado.") % {"name": found.name})
        values = [str(p).strip() for p in (params or [])]
        for n in range(1, found.param_count + 1):
            if n > len(values) or not values[n - 1]:
                raise ReachOutRejected(_("Falta o parâmetro %(n)d do modelo.") % {"n": n})
        return Content(template=found, params=values[: found.param_count])
    if not text.strip():
        raise ReachOutRejected(_("A mensagem está vazia."))
    limit = outbox.max_text_length(connection)
    if len(text) > limit:
        raise ReachOutRejected(
            _("A mensagem tem %(n)d caracteres; o limite do WhatsApp é %(limit)d.") % {"n": len(text), "limit": limit}
        )
    return Content(text=text)


def _window_refusal(connection: Any, client_id: Any) -> str:
    """Why free text cannot open the conversation now (Meta, outside the 24-hour window); "" when it can.
    `client_id` None: a number not yet a contact (it never wrote)."""
    state = window.client_window(connection, client_id) if client_id is not None else None
    if state is not None and state.open:
        return ""
    if state is None and window.length(connection) is None:
        return ""
    if state is None or state.closes_at is None:
        return _(
            "O contato nunca escreveu para este número: pela regra do WhatsApp, só um modelo aprovado pode "
            "iniciar a conversa."
        )
    when = timezone.localtime(state.closes_at).strftime("%d/%m %H:%M")
    return _(
        "A janela de 24 horas do WhatsApp fechou em %(when)s: o contato não escreve há mais de 24 horas. "
        "Só um modelo aprovado pode iniciar a conversa."
    ) % {"when": when}


def _open_ticket_conflict(ticket: Ticket) -> AlreadyOpen:
    department, holder = ticket.department.name, ticket.agent
    if holder is None:
        reason = _("O contato já tem um atendimento em espera em %(department)s.") % {"department": department}
    else:
        reason = _("O contato já tem um atendimento aberto em %(department)s, com %(agent)s (%(email)s).") % {
            "department": department,
            "agent": holder.display_name,
            "email": holder.email,
        }
    return AlreadyOpen(reason, ticket)


# --- the writes --------------------------------------------------------------------------------------


def _ticket_started(
    *, connection: Any, client_id: Any, department: Department, agent: Any, data: dict
) -> Ticket | None:
    """A new ticket in atendendo, held by the agent: its insert is its first change (`started`, version 1).
    None when the contact already has an open ticket on that connection (the partial unique index).

    The client's window on the number carries over (last_inbound_at): the conversation page and the
    reply guard then see the window WhatsApp applies. No client question waits on this ticket, so it has
    no first-response time: first_response_at is its opening, first_response_seconds stays empty (the
    reports' response times count the tickets clients open)."""
    tz = localtime.tenant_timezone(connection.reseller_id)
    now = clock.now()
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(
                reseller_id=connection.reseller_id,
                department=department,
                client_id=client_id,
                connection=connection,
                status=Ticket.Status.OPEN,
                agent=agent,
                claimed_at=now,
                first_response_at=now,
                last_message_at=now,
                last_inbound_at=window.client_last_inbound(connection.pk, client_id),
                **localtime.opened_stamps(now, tz),
                **created_change(
                    at=now, to_state=UIState.ATENDENDO, action=TicketEvent.Action.STARTED, actor=agent, data=data
                ),
            )
            ticket_created_record(ticket)
    except IntegrityError:
        return None  # the contact's open ticket there exists (or was opened a moment ago)
    ticket_rollup_sync(ticket.pk, tz=tz, known=ticket)
    return ticket


def _enqueue(ticket: Ticket, content: Content, *, agent: Any, nonce: str, record: dict) -> Message:
    if content.template is not None:
        found = content.template
        message, _created = outbox.message_enqueue_template(
            ticket=ticket,
            text=found.render(content.params),
            template={"name": found.name, "language": found.language, "params": content.params},
            agent=agent,
            nonce=nonce,
            record=record,
        )
    else:
        message, _created = outbox.message_enqueue_outbound(
            ticket=ticket,
            text=reply_signed(ticket=ticket, agent=agent, text=content.text),
            agent=agent,
            nonce=nonce,
            record=record,
        )
    return message


def conversation_start(
    *,
    user: Any,
    client: Client,
    connection: Any = "",
    department: Any = "",
    text: str = "",
    template: Any = "",
    params: Any = (),
) -> Ticket:
    """Novo atendimento: a new atendendo ticket held by `user`, its first message queued (and tried now).

    Raises ReachOutRejected (400), AlreadyOpen (the contact's open ticket on that connection: nothing
    stored or sent) or ReachOutConflict (free text outside Meta's window: nothing stored or sent)."""
    chosen, dept = _choose(user, client.reseller_id, connection, department)
    content = _content(chosen, text=text, template=template, params=params)
    return _start(user=user, client=client, chosen=chosen, dept=dept, content=content)


def _start(*, user: Any, client: Client, chosen: Any, dept: Department, content: Content) -> Ticket:
    """conversation_start once the request is checked (also the start from a typed number's)."""
    for _round in range(ROUNDS):
        existing = reach_out.open_ticket_of(chosen.pk, client.pk)
        if existing is not None:
            raise _open_ticket_conflict(existing)
        if content.template is None and (refusal := _window_refusal(chosen, client.pk)):
            raise ReachOutConflict(refusal)
        ticket = _ticket_started(connection=chosen, client_id=client.pk, department=dept, agent=user, data={})
        if ticket is not None:
            break
    else:
        raise RuntimeError(f"could not start a conversation with client {client.pk} on connection {chosen.pk}")
    message = _enqueue(ticket, content, agent=user, nonce="", record={})
    outbox.send_soon_if_inline(message)
    return ticket


def schedule_create(
    *,
    user: Any,
    client: Client,
    connection: Any = "",
    department: Any = "",
    send_at: Any = "",
    text: str = "",
    template: Any = "",
    params: Any = (),
    nonce: str = "",
) -> ScheduledMessage:
    """Agendar: a text or template for the contact at `send_at` (ISO 8601; without an offset, the tenant's
    local time). Raises ReachOutRejected (400) for a past or unreadable time and the rules of
    conversation_start. The window and the contact's open ticket are judged at the send time, not now."""
    chosen, dept = _choose(user, client.reseller_id, connection, department)
    content = _content(chosen, text=text, template=template, params=params)
    parsed = (
        send_at if isinstance(send_at, datetime) else reach_out.send_at_parse(str(send_at or ""), client.reseller_id)
    )
    if parsed is None:
        raise ReachOutRejected(_("Informe a data e a hora do envio (por exemplo 2026-03-10T14:30)."))
    when = clock.to_ms(parsed) or parsed
    if when <= clock.now():
        raise ReachOutRejected(_("A data e a hora do envio já passaram."))
    nonce = (nonce or "")[:64]
    try:
        with transaction.atomic():
            return SCHEDULED.enqueue(
                not_before=when,
                reseller_id=client.reseller_id,
                client=client,
                connection=chosen,
                department=dept,
                created_by=user,
                send_at=when,
                text=content.text,
                template=content.template,
                template_params=content.params,
                client_nonce=nonce,
            )
    except IntegrityError:
        if not nonce:
            raise
        return ScheduledMessage.objects.get(created_by=user, client_nonce=nonce)  # a double click: the first one


def schedule_cancel(*, user: Any, scheduled: ScheduledMessage) -> ScheduledMessage:
    """Cancelar: one conditional write from agendada. Cancelling a cancelled one changes nothing; one sent,
    being sent or failed raises ScheduleConflict. The caller found it through the user's scope."""
    now = clock.now()
    won = ScheduledMessage.objects.filter(pk=scheduled.pk, state=ScheduledMessage.State.AGENDADA).update(
        state=ScheduledMessage.State.CANCELADA, cancelled_at=now, cancelled_by=user, updated_at=now
    )
    fresh = ScheduledMessage.objects.get(pk=scheduled.pk)
    if won == 1 or fresh.state == ScheduledMessage.State.CANCELADA:
        return fresh
    reasons = {
        ScheduledMessage.State.ENVIADA: _("Esta mensagem já foi enviada."),
        ScheduledMessage.State.ENVIANDO: _("Esta mensagem está sendo enviada agora."),
        ScheduledMessage.State.FALHOU: _("Esta mensagem não foi enviada: %(reason)s") % {"reason": fresh.reason},
    }
    raise ScheduleConflict(str(reasons.get(fresh.state, _("Esta mensagem não pode mais ser cancelada."))), fresh)


# --- the worker's attempt ----------------------------------------------------------------------------


def scheduled_nonce(scheduled_id: Any) -> str:
    return f"scheduled-{getattr(scheduled_id, 'hex', scheduled_id)}"


def scheduled_send(scheduled_id: Any, *, now: datetime | None = None) -> str:
    """One attempt of the worker at one scheduled message: sent, failed, retry or skipped (not due, or another
    worker has it). Its outbound message is left to the outbox, which the same worker runs."""
    lease = SCHEDULED.claim(scheduled_id, now=now)
    if lease is None:
        return "skipped"
    job = ScheduledMessage.objects.select_related("created_by", "connection", "department", "template").get(
        pk=scheduled_id
    )
    try:
        ticket, message = _scheduled_deliver(job)
    except _Refused as exc:
        SCHEDULED.fail(job.pk, lease, text=str(exc))
        log.info("scheduled message %s: not sent: %s", job.pk, exc)
        return "failed"
    except Exception as exc:
        log.exception("scheduled message %s: unexpected error", job.pk)
        text = _("Erro inesperado ao enviar: %(error)s") % {"error": type(exc).__name__}
        if SCHEDULED.exhausted(job.attempts):
            SCHEDULED.fail(job.pk, lease, text=text)
            return "failed"
        SCHEDULED.retry(job.pk, lease, attempts=job.attempts, text=text, now=now)
        return "retry"
    SCHEDULED.succeed(job.pk, lease, reason="", ticket=ticket, message=message, sent_at=clock.now())
    return "sent"


def _scheduled_deliver(job: ScheduledMessage) -> tuple[Ticket, Message]:
    """Queue the job's message into the contact's open ticket held by its agent, or a new one they hold."""
    agent, connection = job.created_by, job.connection
    nonce = scheduled_nonce(job.pk)
    # An attempt that queued its message and crashed before recording it: that message is the outcome. It is
    # on one of the contact's tickets on this connection (a few), found through the (ticket, nonce) index.
    tickets = Ticket.objects.filter(connection_id=connection.pk, client_id=job.client_id).values_list("pk", flat=True)
    # (`> ''` repeats the partial index's condition, without which SQLite cannot use it.)
    queued = Message.objects.filter(ticket_id__in=list(tickets), client_nonce=nonce, client_nonce__gt="").first()
    if queued is not None:
        return Ticket.objects.get(pk=queued.ticket_id), queued
    if not agent.is_active:
        raise _Refused(_("O agente que agendou (%(agent)s) foi desativado.") % {"agent": agent.display_name})
    if not connection.active:
        raise _Refused(_("A conexão %(name)s foi desativada.") % {"name": reach_out.connection_label(connection)})
    if not (agent.is_supervisor_of(job.reseller_id) or agent.departments.filter(pk=job.department_id).exists()):
        raise _Refused(
            _("O agente que agendou não pertence mais ao departamento %(department)s.")
            % {"department": job.department.name}
        )
    content = Content(text=job.text, template=job.template, params=list(job.template_params or []))
    if content.template is not None and content.template.status != MessageTemplate.Status.APPROVED:
        raise _Refused(_("O modelo %(name)s não está mais aprovado.") % {"name": content.template.name})
    record = {"scheduled": str(job.pk)}
    for _round in range(ROUNDS):
        ticket = reach_out.open_ticket_of(connection.pk, job.client_id)
        holder = ticket.agent if ticket is not None else None
        if ticket is not None and holder is None:
            raise _Refused(
                _("O contato tem um atendimento em espera em %(department)s: assuma-o para responder.")
                % {"department": ticket.department.name}
            )
        if holder is not None and holder.pk != agent.pk:
            raise _Refused(_("O contato tem um atendimento aberto com %(agent)s.") % {"agent": holder.display_name})
        if content.template is None and (refusal := _window_refusal(connection, job.client_id)):
            raise _Refused(refusal)
        if ticket is None:
            ticket = _ticket_started(
                connection=connection, client_id=job.client_id, department=job.department, agent=agent, data=record
            )
            if ticket is None:
                continue  # the contact wrote a moment ago: judge the ticket that made
        elif not _still_held(ticket, agent):
            continue  # closed or transferred a moment ago: judge again
        return ticket, _enqueue(ticket, content, agent=agent, nonce=nonce, record=record)
    raise RuntimeError(f"scheduled message {job.pk}: the contact's ticket kept changing")


def _still_held(ticket: Ticket, agent: Any) -> bool:
    """One conditional write, as a reply's: the ticket is stamped only while open and held by the agent."""
    held = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN, agent=agent)
    return held.update(updated_at=clock.now()) == 1
