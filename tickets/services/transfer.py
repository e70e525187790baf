"""Transferir: a ticket to another agent (atendendo stays atendendo) or department (espera stays espera)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Department, User
from iaze.lib import clock
from tickets.activity import ticket_change
from tickets.models import Ticket, TicketEvent, UIState
from tickets.rules import auto_messages, permissions, window
from tickets.services.automatic import ticket_auto_message_send
from tickets.services.common import NotAllowed, TicketConflict, TransferRejected, held_by_other, uuid_lookup
from tickets.services.rollups import ticket_rollup_sync


def _transfer_department(ticket: Ticket, value: str) -> Department | None:
    if not value:
        return None
    department = uuid_lookup(Department, value)
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
    agent = uuid_lookup(User, value)
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
            raise NotAllowed(held_by_other(ticket))
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
    as_it_was = Q(status=Ticket.Status.OPEN, department_id=ticket.department_id, agent_id=ticket.agent_id)
    changes: dict[str, Any] = {"department_id": department_id, "updated_at": now}
    if new_agent is not None:
        changes.update(agent=new_agent, claimed_at=now)
    record = {
        "from_agent": str(ticket.agent_id or ""),
        "to_agent": str(new_agent.pk if new_agent else ticket.agent_id or ""),
        "from_department": str(ticket.department_id),
        "to_department": str(department_id),
        "to_agent_name": new_agent.display_name if new_agent else "",
        "to_department_name": new_department.name if new_department else ticket.department.name,
    }
    won = ticket_change(
        ticket,
        where=as_it_was,
        values=changes,
        action=TicketEvent.Action.TRANSFERRED,
        actor=by,
        from_state=state,
        to_state=state,
        at=now,
        data=record,
    )
    if won:
        ticket_rollup_sync(ticket.pk)  # the ticket's counts move to its new department and agent
    fresh = Ticket.objects.select_related("agent", "department", "connection", "reseller").get(pk=ticket.pk)
    if not won:
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
