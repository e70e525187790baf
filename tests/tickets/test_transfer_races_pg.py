"""Transfers racing on a real PostgreSQL server: real threads released together by a barrier, no sleeps."""

import pytest
from django.test import Client

from accounts.models import User
from tests import factories as f
from tests.support.races import race
from tickets import services
from tickets.models import Ticket, TicketEvent, UIState

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def race_all(*works) -> list:
    return race(len(works), lambda i: works[i]())


def test_two_supervisors_transfer_one_ticket_at_once_one_wins_one_409(meta_conn, tenant, agent1, agent2, agent3):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    boss1 = f.make_user("chefe1@demo.local", reseller=tenant.reseller, role=User.Role.RESELLER)
    boss2 = f.make_user("chefe2@demo.local", reseller=tenant.reseller, role=User.Role.RESELLER)
    url = f"/tickets/{ticket.pk}/transferir/"
    # What both supervisors' pages showed: the form carries it, so whichever posts second loses,
    # however the two requests interleave.
    seen = {"seen_agent": str(agent1.pk), "seen_department": str(tenant.suporte.pk)}

    def transfer(boss, data):
        def work():
            client = Client()
            client.force_login(boss)
            # Each supervisor's page read the ticket as it was; both post at once.
            return client.post(url, data).status_code

        return work

    results = race_all(
        transfer(boss1, {"agent": str(agent2.pk), **seen}),
        transfer(boss2, {"agent": str(agent3.pk), "department": str(tenant.financeiro.pk), **seen}),
    )
    assert sorted(results) == [303, 409], results
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.ui_state == UIState.ATENDENDO and stored.agent in (agent2, agent3)
    if stored.agent == agent3:
        assert stored.department == tenant.financeiro
    else:
        assert stored.department == tenant.suporte
    [event] = TicketEvent.objects.filter(ticket=ticket, action="transferred")
    assert event.data["to_agent"] == str(stored.agent_id)


def test_a_transfer_racing_a_close_never_leaves_both(meta_conn, tenant, agent1, agent2):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    seen = Ticket.objects.select_related("department", "agent", "reseller").get(pk=ticket.pk)

    results = race_all(
        lambda: services.ticket_transfer(ticket=seen, by=agent1, agent=str(agent2.pk)),
        lambda: services.ticket_close(ticket=seen, by=agent1),
    )
    # The loser is told the ticket moved (409) or, for the close, that it is now someone else's (403).
    lost = (services.TicketConflict, services.NotAllowed)
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, lost)]
    assert not unexpected, unexpected
    assert sum(isinstance(r, Ticket) for r in results) == 1
    stored = Ticket.objects.get(pk=ticket.pk)
    transferred = TicketEvent.objects.filter(ticket=ticket, action="transferred").count()
    closed = TicketEvent.objects.filter(ticket=ticket, action="closed").count()
    assert (transferred, closed) in ((1, 0), (0, 1))
    assert (stored.ui_state == UIState.FINALIZADO) == (closed == 1)
