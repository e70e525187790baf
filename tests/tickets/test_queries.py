"""No N+1: the queue and the conversation cost the same number of queries for 3 or 30 rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as f
from tickets import services


def _count(client, path, **extra):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **extra)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["agent1", "reseller_user"])
@pytest.mark.parametrize("state", ["espera", "atendendo", "finalizado"])
def test_queue_query_count_does_not_grow(
    client, meta_conn, agent1, agent2, reseller_user, django_assert_num_queries, presence_quiet, who, state
):
    user = {"agent1": agent1, "reseller_user": reseller_user}[who]

    def add(n):
        for _ in range(n):
            ticket = f.make_ticket(meta_conn)
            if state != "espera":
                services.ticket_claim(ticket=ticket, agent=agent1)
            if state == "finalizado":
                services.ticket_close(ticket=ticket, by=agent1)
            other = f.make_ticket(meta_conn)
            services.ticket_claim(ticket=other, agent=agent2)  # the read-only list of agents

    add(3)
    client.force_login(user)
    path = f"/tickets/?status={state}"
    few = _count(client, path)
    add(27)
    with django_assert_num_queries(few):
        response = client.get(path)
    html = response.content.decode()
    assert html.count('class="ticket-row"') >= 25


@pytest.mark.parametrize("htmx", [False, True])
def test_conversation_query_count_does_not_grow(
    client, tenant, meta_conn, agent1, django_assert_num_queries, presence_quiet, htmx
):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    other_conn = f.make_connection(tenant.reseller, tenant.suporte, key="other", phone_number_id="100000000000077")
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    seq = iter(range(1000))

    def add(n):
        for _ in range(n):
            i = next(seq)
            services.message_store(
                ticket=ticket, msg=services.InboundMessage(provider_message_id=f"wamid.q{i}", text=f"pergunta {i}")
            )
            services.ticket_reply(ticket=ticket, agent=agent1, text=f"resposta {i}", nonce=f"n{i}")
            # an earlier ticket of the same client, on another number
            f.make_ticket(other_conn, client=ticket.client, agent=agent1, closed_by=agent1)

    add(3)
    client.force_login(agent1)
    path = f"/tickets/{ticket.pk}/"
    # The holder's first visit stores its read mark (an insert); each later visit after new client
    # messages moves it forward (one update): both measured visits below are of that kind.
    _count(client, path, **extra)
    add(3)
    few = _count(client, path, **extra)
    add(24)
    with django_assert_num_queries(few):
        response = client.get(path, **extra)
    html = response.content.decode()
    assert html.count('class="msg ') >= 50
    if not htmx:
        assert html.count('href="/tickets/') >= 20
