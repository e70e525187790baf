"""Who may do what to a ticket: the one place these rules live.

Services enforce them (a view never decides on its own) and views ask them only
to choose which buttons to show. Visibility (which tickets exist for a user at
all) is `tickets.reads.selectors.ticket_queryset_for`; these rules apply on top of it.

- A supervisor is an installation admin (every tenant) or an admin or reseller user
  of the ticket's tenant.
- Assumir: an active agent of the ticket's department, or a supervisor.
- Finalizar, Responder: the holder, or a supervisor. The holder keeps both even after
  leaving the department: they still see the ticket and the client is waiting on them.
- Transferir: atendendo, the holder or a supervisor; espera, an agent of the department or a supervisor.
- Nota interna: anyone working the ticket's department, its (past) holder, or a supervisor; any state.
- Modelo (template): as Responder.
- Etiquetas and the client's name (the client panel): as Nota interna.
- An integration's bot (role bot, accounts.tokens): sees its tenant's tickets; writes to a ticket only while it is
  in espera (its messages, sent like automatic texts), and may transfer it to another department or add a note;
  it never claims, closes or replies to a held ticket.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tickets.models import Ticket


def is_supervisor(user: Any) -> bool:
    """A supervisor of their own tenant (or of everything): the workspace shows them the whole tenant."""
    return bool(user.is_authenticated and (user.is_admin or user.is_supervisor_of(user.reseller_id)))


def is_tenant_bot(user: Any, ticket: Ticket) -> bool:
    """An active integration bot of the ticket's tenant."""
    return bool(user.is_active and getattr(user, "is_bot", False) and user.reseller_id == ticket.reseller_id)


def supervises(user: Any, ticket: Ticket) -> bool:
    return bool(user.is_active and user.is_supervisor_of(ticket.reseller_id))


def in_department(user: Any, ticket: Ticket, *, dept_ids: Collection | None = None) -> bool:
    """`dept_ids`: the user's department ids when the caller already read them (one query less)."""
    if not user.is_active or user.reseller_id != ticket.reseller_id:
        return False
    if dept_ids is not None:
        return ticket.department_id in dept_ids
    return bool(user.departments.filter(pk=ticket.department_id).exists())


def may_claim(user: Any, ticket: Ticket, *, dept_ids: Collection | None = None) -> bool:
    if getattr(user, "is_bot", False):
        return False  # a bot hands over by not answering; an agent claims
    return supervises(user, ticket) or in_department(user, ticket, dept_ids=dept_ids)


def holds(user: Any, ticket: Ticket) -> bool:
    return bool(user.is_active and ticket.agent_id is not None and ticket.agent_id == user.pk)


def may_close(user: Any, ticket: Ticket) -> bool:
    return holds(user, ticket) or supervises(user, ticket)


def may_reply(user: Any, ticket: Ticket) -> bool:
    return may_close(user, ticket)


def may_transfer(user: Any, ticket: Ticket, *, dept_ids: Collection | None = None) -> bool:
    """Atendendo: the holder or a supervisor. Espera: an agent of the ticket's department or a supervisor."""
    if ticket.status != ticket.Status.OPEN:
        return False
    if ticket.agent_id is not None:
        return may_close(user, ticket)
    return may_claim(user, ticket, dept_ids=dept_ids) or is_tenant_bot(user, ticket)


def may_note(user: Any, ticket: Ticket, *, dept_ids: Collection | None = None) -> bool:
    """Internal notes, in any state (finalizado too): whoever works the ticket's tenant and department,
    the agent who holds or held it, or a supervisor."""
    if not user.is_active:
        return False
    if supervises(user, ticket) or in_department(user, ticket, dept_ids=dept_ids) or is_tenant_bot(user, ticket):
        return True
    return ticket.agent_id is not None and ticket.agent_id == user.pk and user.reseller_id == ticket.reseller_id


def may_send_template(user: Any, ticket: Ticket) -> bool:
    return may_reply(user, ticket)


def may_tag(user: Any, ticket: Ticket, *, dept_ids: Collection | None = None) -> bool:
    """Tags on the ticket or its client, and the client's name: whoever may write a note on it."""
    return may_note(user, ticket, dept_ids=dept_ids)
