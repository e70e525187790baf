"""accounts.selectors: exactly which rows of every model each named user sees."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import selectors
from accounts.models import Client, Department, Reseller, ResellerConfig, User
from tickets.models import Message, Ticket, TicketEvent
from tickets.reads import selectors as ticket_selectors
from whatsapp import selectors as channel_selectors
from whatsapp.models import Connection, WebhookEvent

pytestmark = pytest.mark.django_db

MODELS = [Reseller, ResellerConfig, Department, User, Client, Connection, Ticket, Message, TicketEvent, WebhookEvent]


def _tenant_of(obj):
    for path in ("reseller_id", "ticket.reseller_id", "connection.reseller_id"):
        target = obj
        for part in path.split("."):
            target = getattr(target, part, None)
        if target is not None:
            return target
    return obj.pk  # a Reseller is its own tenant


def test_admin_sees_everything(world):
    for model in MODELS:
        assert selectors.queryset_for(world.users["admin_user"], model).count() == model.objects.count(), model


@pytest.mark.parametrize("who,home", [("reseller_user", "demo"), ("outsider_reseller", "outra")])
def test_manager_sees_exactly_its_tenant(world, who, home):
    reseller_id = getattr(world, home).reseller.pk
    for model in MODELS:
        seen = list(selectors.queryset_for(world.users[who], model))
        assert seen, model
        assert {_tenant_of(obj) for obj in seen} == {reseller_id}, model
        everything_of_tenant = [
            o for o in model.objects.all() if _tenant_of(o) == reseller_id and not (model is User and o.is_admin)
        ]
        assert len(seen) == len(everything_of_tenant), model


def test_agent_sees_its_profile_departments_and_tickets_only(world, tenant):
    agent3 = world.users["agent3"]  # Financeiro; the world's tickets are in Suporte
    assert list(selectors.user_queryset_for(agent3)) == [agent3]
    assert list(selectors.department_queryset_for(agent3)) == [tenant.financeiro]
    assert ticket_selectors.message_queryset_for(agent3).count() == 0
    assert ticket_selectors.client_queryset_for(agent3).count() == 0
    agent1 = world.users["agent1"]
    assert list(ticket_selectors.message_queryset_for(agent1)) == [world.demo.message]
    assert list(ticket_selectors.client_queryset_for(agent1)) == [world.demo.client]
    # The events of its ticket (opened, the client's message), nothing of the other tenant's.
    assert set(ticket_selectors.ticket_event_queryset_for(agent1)) == set(world.demo.ticket.events.all())
    assert world.demo.ticket_event in ticket_selectors.ticket_event_queryset_for(agent1)
    for agent in (agent1, agent3):
        assert channel_selectors.connection_queryset_for(agent).count() == 0  # connections carry secrets
        assert channel_selectors.webhook_event_queryset_for(agent).count() == 0
        assert list(selectors.reseller_queryset_for(agent)) == [tenant.reseller]


def test_anonymous_inactive_and_tenantless_users_see_nothing(world):
    boss = world.users["reseller_user"]
    boss.is_active = False
    orphan = User(email="x@y.z", role=User.Role.RESELLER, reseller=None)
    for user in (AnonymousUser(), boss, orphan):
        for model in MODELS:
            if model is User and user is orphan:
                continue  # an unsaved user has no pk to match
            assert selectors.queryset_for(user, model).count() == 0, (user, model)


def test_unknown_model_is_invisible(world):
    from django.contrib.auth.models import Group

    assert selectors.queryset_for(world.users["admin_user"], Group).count() == 0
