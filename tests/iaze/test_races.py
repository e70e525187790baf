"""Real races on a real database server (PostgreSQL, MongoDB): 16 threads, one barrier, no sleeps.

Each thread has its own database connection (Django gives every thread one) and
closes it when done, so nothing is shared but the server.
"""

from collections import Counter

import pytest

from tests import factories as f
from tests.support.races import race
from tickets import services
from tickets.models import Message, Ticket, TicketEvent, UIState
from tickets.reads import changes

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


def test_versions_go_up_one_by_one_under_concurrent_claims_messages_and_replies(meta_conn, tenant):
    """Every change is the ticket's next version with exactly one record, however many writers race
    (tickets.activity.ticket_change: a compare-and-set on the version; tickets.reads.changes reads them)."""
    agents = [
        f.make_user(f"versao{i}@race.local", name=f"Versão {i}", reseller=tenant.reseller, departments=[tenant.suporte])
        for i in range(THREADS // 2)
    ]
    ticket = f.make_ticket(meta_conn)  # version 1 (opened), 2 (its first message)

    def claim_or_write(i):
        if i < len(agents):
            return services.ticket_claim(ticket=ticket, agent=agents[i])
        msg = services.InboundMessage(provider_message_id=f"wamid.version{i:02d}", text=f"mensagem {i}")
        return services.message_store(ticket=ticket, msg=msg)

    first = race(THREADS, claim_or_write)
    unexpected = [r for r in first if isinstance(r, BaseException) and not isinstance(r, services.TicketConflict)]
    assert not unexpected, unexpected
    assert sum(isinstance(r, Ticket) for r in first) == 1
    holder = Ticket.objects.get(pk=ticket.pk).agent

    def reply(i):
        fresh = Ticket.objects.get(pk=ticket.pk)
        return services.ticket_reply(ticket=fresh, agent=holder, text=f"resposta {i}", nonce=f"versao-{i}")

    second = race(THREADS, reply)
    unexpected = [r for r in second if isinstance(r, BaseException)]
    assert not unexpected, unexpected

    total = 2 + 1 + THREADS // 2 + THREADS  # opened + first message, one claim, the messages, the replies
    assert Ticket.objects.get(pk=ticket.pk).version == total
    found = changes.ticket_changes(ticket.pk)
    assert [c.version for c in found] == list(range(1, total + 1))
    assert all(c.recorded for c in found)  # each version has its record, and only one
    assert TicketEvent.objects.filter(ticket=ticket).count() == total
    assert Counter(c.action for c in found) == {
        "created": 1,
        "message": 1 + THREADS // 2,
        "claimed": 1,
        "replied": THREADS,
    }
    assert [c.at for c in found] == sorted(c.at for c in found)  # and their stamps never go back
    # The tenant's feed gives the same changes, each once, in the order of versions.
    feed, _ = changes.changes_since(reseller_id=meta_conn.reseller_id, limit=1000)
    assert [c.version for c in feed if c.ticket_id == ticket.pk] == list(range(1, total + 1))
