"""The reads of reaching a contact (Novo atendimento, Agendamentos): which connections, departments and
templates a user may use for a contact, the contact itself, a typed send time, the scheduled messages a
user sees, and the form's context. Reads only: the writers are tickets.services.outreach.

A connection is the tenant's (any active one: the number the conversation goes out from); a department is
one of the user's own, any of the tenant's for a supervisor. Connections are read through the app registry:
this app refers to the channel's models by name only (docs/architecture.md, layers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db.models import QuerySet
from django.http import Http404
from django.utils.dateparse import parse_datetime

from accounts.models import Client, Department
from providers import capabilities
from tickets.models import MessageTemplate, ScheduledMessage, Ticket
from tickets.reads.selectors import ticket_queryset_for
from tickets.rules import localtime, permissions, window


def connection_model():
    return apps.get_model("whatsapp", "Connection")


def contact_get_for(user: Any, pk: Any) -> Client:
    """A contact of the user's tenant (any contact, for an installation admin); another tenant's is a 404."""
    if not user.is_authenticated or not user.is_active:
        raise Http404("Contato não encontrado.")
    qs = Client.objects.all()
    if not (user.is_admin and user.reseller_id is None):
        if user.reseller_id is None:
            raise Http404("Contato não encontrado.")
        qs = qs.filter(reseller_id=user.reseller_id)
    found = qs.filter(pk=pk).first()
    if found is None:
        raise Http404("Contato não encontrado.")
    return found


def acts_for_tenant(user: Any, reseller_id: Any) -> bool:
    """A user of this tenant, or an installation admin: who may reach this tenant's contacts at all."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.reseller_id == reseller_id or (user.is_admin and user.reseller_id is None)


def connections_for(user: Any, reseller_id: Any) -> list:
    """The tenant's active connections, by name and key (what the form's select lists)."""
    if not acts_for_tenant(user, reseller_id):
        return []
    return list(connection_model().objects.filter(reseller_id=reseller_id, active=True).order_by("name", "key"))


def departments_for(user: Any, reseller_id: Any) -> list[Department]:
    """An agent's own active departments of the tenant; a supervisor's: every active department of it."""
    if not acts_for_tenant(user, reseller_id):
        return []
    qs = Department.objects.filter(reseller_id=reseller_id, active=True)
    if not user.is_supervisor_of(reseller_id):
        qs = qs.filter(pk__in=list(user.departments.values_list("pk", flat=True)))
    return list(qs.order_by("name"))


def approved_templates(connection_ids: list) -> list[MessageTemplate]:
    if not connection_ids:
        return []
    return list(
        MessageTemplate.objects.filter(
            connection_id__in=connection_ids, status=MessageTemplate.Status.APPROVED
        ).order_by("name", "language")
    )


def connection_label(connection: Any) -> str:
    """The connection as the form names it: its name (or provider) and its key ("Meta Cloud API · demo-meta")."""
    name = connection.name or connection.get_provider_display()
    return f"{name} · {connection.key}"


def send_at_parse(value: str, reseller_id: Any) -> datetime | None:
    """An ISO 8601 moment; without an offset, the tenant's local time. None when it is not one."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=localtime.tenant_timezone(reseller_id))
    return moment


def open_ticket_of(connection_id: Any, client_id: Any) -> Ticket | None:
    """The contact's open ticket on that connection (at most one: the partial unique index)."""
    qs = Ticket.objects.filter(connection_id=connection_id, client_id=client_id, status=Ticket.Status.OPEN)
    return qs.select_related("agent", "department").first()


# --- the scheduled messages a user sees ------------------------------------------------------------


def scheduled_queryset_for(user: Any) -> QuerySet[ScheduledMessage]:
    """An agent's own scheduled messages; a supervisor's: the tenant's; an installation admin's: all."""
    qs = ScheduledMessage.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_admin and user.reseller_id is None:
        return qs
    if user.reseller_id is None:
        return qs.none()
    if permissions.is_supervisor(user):
        return qs.filter(reseller_id=user.reseller_id)
    return qs.filter(created_by=user)


def scheduled_get_for(user: Any, pk: Any) -> ScheduledMessage:
    found = scheduled_queryset_for(user).filter(pk=pk).first()
    if found is None:
        raise Http404("Agendamento não encontrado.")
    return found


# --- the form (templates/contacts/_reach_out.html) --------------------------------------------------


@dataclass
class ConnectionChoice:
    connection: Any
    label: str
    window: window.ClientWindow
    has_templates: bool
    open_ticket: Ticket | None = None
    open_ticket_visible: bool = False


@dataclass
class ReachOut:
    contact: Client | None  # None: Nova conversa, to a typed number
    connections: list[ConnectionChoice] = field(default_factory=list)
    departments: list[Department] = field(default_factory=list)
    templates: list[MessageTemplate] = field(default_factory=list)
    max_params: int = 0
    any_window: bool = False  # some connection has Meta's window: the form says what that means

    @property
    def usable(self) -> bool:
        return bool(self.connections and self.departments)


def reach_out_for(user: Any, contact: Client, *, visible_tickets: QuerySet | None = None) -> ReachOut:
    """What the start-conversation and schedule forms offer this user for this contact."""
    connections = connections_for(user, contact.reseller_id)
    reach = ReachOut(contact=contact, departments=departments_for(user, contact.reseller_id))
    if not connections:
        return reach
    open_tickets = {
        t.connection_id: t
        for t in Ticket.objects.filter(
            client_id=contact.pk, status=Ticket.Status.OPEN, connection_id__in=[c.pk for c in connections]
        ).select_related("agent", "department")
    }
    visible = visible_tickets if visible_tickets is not None else ticket_queryset_for(user)
    seen = set(visible.filter(pk__in=[t.pk for t in open_tickets.values()]).values_list("pk", flat=True))
    for connection in connections:
        adapter = capabilities(connection)
        ticket = open_tickets.get(connection.pk)
        reach.connections.append(
            ConnectionChoice(
                connection=connection,
                label=connection_label(connection),
                window=window.client_window(connection, contact.pk),
                has_templates=adapter.has_templates,
                open_ticket=ticket,
                open_ticket_visible=ticket is not None and ticket.pk in seen,
            )
        )
    return _with_templates(reach)


def reach_out_blank(user: Any, reseller_id: Any) -> ReachOut:
    """What Nova conversa offers for a typed number: the user's connections and departments, and the approved
    templates. The window is unknown until the number is matched to a contact: shown as closed where it applies."""
    reach = ReachOut(contact=None, departments=departments_for(user, reseller_id))
    for connection in connections_for(user, reseller_id):
        applies = window.length(connection) is not None
        reach.connections.append(
            ConnectionChoice(
                connection=connection,
                label=connection_label(connection),
                window=window.ClientWindow(applies=applies, open=not applies, closes_at=None),
                has_templates=capabilities(connection).has_templates,
            )
        )
    return _with_templates(reach)


def _with_templates(reach: ReachOut) -> ReachOut:
    with_templates = [c.connection.pk for c in reach.connections if c.has_templates]
    reach.templates = approved_templates(with_templates)
    labels = {c.connection.pk: c.label for c in reach.connections}
    for t in reach.templates:
        t.connection_label = labels.get(t.connection_id, "")  # type: ignore[attr-defined]
    reach.max_params = max((t.param_count for t in reach.templates), default=0)
    reach.any_window = any(c.window.applies for c in reach.connections)
    return reach
