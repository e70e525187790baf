"""Real races on a real database server (PostgreSQL, MongoDB): 16 threads, one barrier, no sleeps.

Each thread has its own database connection (Django gives every thread one) and
closes it when done, so nothing is shared but the server.
"""

import pytest

from tests import factories as f
from tests.support.races import race
from tickets import services
from tickets.models import Message, Ticket, TicketEvent, UIState

pytestmark = [pytest.mark.realserver, pytest.mark.django_db(transaction=True)]

THREADS = 16


def test_16_agents_claim_one_ticket_exactly_one_wins(meta_conn, tenant):
    agents = [
        f.make_user(f"agente{i}@race.local", name=f"Agente {i}", reseller=tenant.reseller, departments=[tenant.suporte])
        for i in range(THREADS)
    ]
    ticket = f.make_ticket(meta_conn)

    results = race(THREADS, lambda i: services.ticket_claim(ticket=ticket, agent=agents[i]))

    winners = [r for r in results if isinstance(r, Ticket)]
    losers = [r for r in results if isinstance(r, services.TicketConflict)]
    unexpected = [r for r in results if not isinstance(r, (Ticket, services.TicketConflict))]
    assert not unexpected, unexpected
    assert len(winners) == 1 and len(losers) == THREADS - 1
    winner = winners[0].agent
    assert all(loser.holder == winner for loser in losers)  # every loser is told who holds it
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.ui_state == UIState.ATENDENDO and stored.agent == winner
    claims = TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.CLAIMED)
    assert claims.count() == 1 and claims.get().actor == winner


def test_16_first_messages_of_one_client_make_one_ticket(meta_conn):
    client = f.make_client(meta_conn.reseller)

    def deliver(i):
        ticket, created = services.inbound_route(connection=meta_conn, client=client)
        msg = services.InboundMessage(provider_message_id=f"wamid.first{i:02d}", text=f"mensagem {i}")
        stored = services.message_store(ticket=ticket, msg=msg)
        return ticket.pk, created, stored

    results = race(THREADS, deliver)

    unexpected = [r for r in results if isinstance(r, BaseException)]
    assert not unexpected, unexpected
    tickets = Ticket.objects.filter(client=client)
    assert tickets.count() == 1
    ticket = tickets.get()
    assert {pk for pk, _, _ in results} == {ticket.pk}
    assert sum(created for _, created, _ in results) == 1
    assert all(stored is not None for _, _, stored in results)
    assert Message.objects.filter(ticket=ticket).count() == THREADS
    assert TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.CREATED).count() == 1
    assert ticket.ui_state == UIState.ESPERA
