"""The queue at 100,000 tickets: keyset pages come straight off an index, never from a sort."""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Client
from tickets.models import Ticket
from tickets.reads import selectors

N = 100_000


def _bulk_tickets(conn, agents, n):
    # Volume only: bulk inserts stand in for years of traffic that went through the services.
    now = timezone.now()
    clients = Client.objects.bulk_create(
        [
            Client(
                reseller=conn.reseller,
                identity=f"55{i:011d}",
                wa_id=f"55{i:011d}",
                phone=f"55{i:011d}",
                name=f"Cliente {i}",
            )
            for i in range(n)
        ],
        batch_size=5000,
    )
    rng = random.Random(42)
    rows = []
    for i, client in enumerate(clients):
        at = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
        agent = agents[i % len(agents)]
        roll = rng.random()
        common = dict(
            reseller=conn.reseller,
            department_id=conn.default_department_id,
            client=client,
            connection=conn,
            last_message_at=at,
            last_message_preview=f"mensagem {i}",
        )
        if roll < 0.02:
            rows.append(Ticket(status="open", **common))
        elif roll < 0.08:
            rows.append(Ticket(status="open", agent=agent, claimed_at=at, **common))
        else:
            rows.append(Ticket(status="closed", agent=agent, closed_by=agent, closed_at=at, **common))
    Ticket.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets; ANALYZE clients")


def _plan(qs):
    return qs.explain()


@pytest.mark.postgresql
@pytest.mark.slow
def test_queue_pages_at_100k_tickets_use_the_index(meta_conn, agent1, agent2, reseller_user, admin_user):
    _bulk_tickets(meta_conn, [agent1, agent2], N)
    for user in (agent1, reseller_user, admin_user):
        for state in ("espera", "atendendo", "finalizado"):
            page = selectors.ticket_list_for(user, state)
            for _ in range(10):  # a deep page, ten cursors in
                page = selectors.ticket_list_for(user, state, cursor=page.next_cursor)
            assert len(page.items) == selectors.QUEUE_PAGE_SIZE
            times = [t.last_message_at for t in page.items]
            assert times == sorted(times, reverse=True)
    # The biggest list (finalizado, ~92% of the table), deep in, for a supervisor and for an agent.
    deep = selectors.ticket_list_for(reseller_user, "finalizado").next_cursor
    for user in (reseller_user, agent1, admin_user):
        qs = selectors._after_cursor(
            selectors._filtered(user, selectors.QueueFilters()).in_state("finalizado"), deep
        ).order_by("-last_message_at", "-pk")[:26]
        plan = _plan(qs)
        assert "ticket_queue" in plan and "time" in plan, plan
        assert "Sort" not in plan, plan
