"""Tenant scope of every model except tickets (see tickets.selectors for those).

The one place that decides what a user may see: admins the whole installation,
a reseller user everything of its own tenant, an agent its own profile, its
departments and what hangs off the tickets it can open. Every admin page and
view fetches through these functions, so another tenant's row simply does not
exist for the user (404), in lists, counts, searches and filters alike.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet

from tickets.models import Message, Ticket, TicketEvent
from tickets.selectors import ticket_queryset_for
from whatsapp.models import Connection, WebhookEvent

from .models import Client, Department, Reseller, ResellerConfig, User


def _is_anonymous(user) -> bool:
    return not getattr(user, "is_authenticated", False) or not user.is_active


def user_is_tenant_manager(user) -> bool:
    """A reseller user bound to a tenant: manages that tenant and nothing else."""
    return (
        not _is_anonymous(user) and not user.is_admin
        and user.role == User.Role.RESELLER and user.reseller_id is not None
    )


def user_is_installation_admin(user) -> bool:
    return not _is_anonymous(user) and user.is_admin


def _scoped(user, qs: QuerySet, tenant_lookup: str, agent_qs=None) -> QuerySet:
    """Admins see `qs`; tenant managers its rows of their tenant; agents `agent_qs(qs)` (default nothing).

    `agent_qs` is a callable so the agent's narrower query is only built for agents.
    """
    if _is_anonymous(user):
        return qs.none()
    if user.is_admin:
        return qs
    if user_is_tenant_manager(user):
        return qs.filter(**{tenant_lookup: user.reseller_id})
    if user.reseller_id is None or agent_qs is None:
        return qs.none()
    return agent_qs(qs)


def reseller_queryset_for(user) -> QuerySet[Reseller]:
    return _scoped(user, Reseller.objects.all(), "pk", agent_qs=lambda qs: qs.filter(pk=user.reseller_id))


def reseller_config_queryset_for(user) -> QuerySet[ResellerConfig]:
    return _scoped(user, ResellerConfig.objects.all(), "reseller_id",
                   agent_qs=lambda qs: qs.filter(reseller_id=user.reseller_id))


def department_queryset_for(user) -> QuerySet[Department]:
    def own(qs):
        return qs.filter(reseller_id=user.reseller_id, pk__in=list(user.departments.values_list("pk", flat=True)))

    return _scoped(user, Department.objects.all(), "reseller_id", agent_qs=own)


def user_queryset_for(user) -> QuerySet[User]:
    """Tenant managers see their tenant's agents and reseller users, never an installation admin."""
    qs = User.objects.all()
    if user_is_tenant_manager(user):
        return qs.filter(reseller_id=user.reseller_id, is_superuser=False).exclude(role=User.Role.ADMIN)
    return _scoped(user, qs, "reseller_id", agent_qs=lambda qs: qs.filter(pk=user.pk))


def client_queryset_for(user) -> QuerySet[Client]:
    def of_visible_tickets(qs):
        return qs.filter(pk__in=set(ticket_queryset_for(user).values_list("client_id", flat=True)))

    return _scoped(user, Client.objects.all(), "reseller_id", agent_qs=of_visible_tickets)


def connection_queryset_for(user) -> QuerySet[Connection]:
    # Agents never see connections: they carry the provider secrets.
    return _scoped(user, Connection.objects.all(), "reseller_id")


def message_queryset_for(user) -> QuerySet[Message]:
    return _scoped(user, Message.objects.all(), "ticket__reseller_id",
                   agent_qs=lambda qs: qs.filter(ticket__in=ticket_queryset_for(user)))


def ticket_event_queryset_for(user) -> QuerySet[TicketEvent]:
    return _scoped(user, TicketEvent.objects.all(), "ticket__reseller_id",
                   agent_qs=lambda qs: qs.filter(ticket__in=ticket_queryset_for(user)))


def webhook_event_queryset_for(user) -> QuerySet[WebhookEvent]:
    return _scoped(user, WebhookEvent.objects.all(), "connection__reseller_id")


SELECTORS_BY_MODEL = {
    Reseller: reseller_queryset_for,
    ResellerConfig: reseller_config_queryset_for,
    Department: department_queryset_for,
    User: user_queryset_for,
    Client: client_queryset_for,
    Connection: connection_queryset_for,
    Ticket: ticket_queryset_for,
    Message: message_queryset_for,
    TicketEvent: ticket_event_queryset_for,
    WebhookEvent: webhook_event_queryset_for,
}


def queryset_for(user, model: type[Model]) -> QuerySet:
    """The scoped queryset of any project model; a model without a rule is invisible (fail closed)."""
    selector = SELECTORS_BY_MODEL.get(model)
    if selector is None:
        return model._default_manager.none()
    return selector(user)
