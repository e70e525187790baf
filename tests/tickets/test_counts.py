"""Tab counts stop at a cap ("1000+") so a page costs the same at 1,000 and 100,000 tickets,
and the live stamp follows what the page shows."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as f
from tests.tickets.conftest import url
from tickets import services
from tickets.reads import selectors


def _count_of(html, state):
    return re.search(rf'data-count="{state}"[^>]*>([^<]*)<', html).group(1)


def test_a_tab_over_the_cap_reads_cap_plus(client, world, meta_conn, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for _ in range(3):
        f.make_ticket(meta_conn)  # Suporte espera: 4 with the world's own
    client.force_login(world.agent1)
    html = client.get("/tickets/?status=espera").content.decode()
    assert _count_of(html, "espera") == "2+"
    assert "Mais de 2 atendimentos" in html
    assert _count_of(html, "atendendo") == "1" and _count_of(html, "finalizado") == "1"  # under the cap: exact
    # The list itself is not capped by the count.
    assert html.count('class="ticket-row"') == 4


def test_counts_are_exact_up_to_the_cap_and_cap_plus_one_beyond(world, meta_conn, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    counts = selectors.ticket_counts_for(world.reseller_user)
    assert (counts["espera"], counts["atendendo"], counts["finalizado"]) == (2, 2, 1)
    for _ in range(4):
        f.make_ticket(meta_conn)
    counts = selectors.ticket_counts_for(world.reseller_user)
    assert counts["espera"] == 4  # 6 exist: the count stopped at COUNT_CAP + 1
    assert selectors.count_label(counts["espera"]) == "3+" and selectors.count_label(3) == "3"


def test_every_count_query_is_bounded(world):
    with CaptureQueriesContext(connection) as ctx:
        selectors.ticket_counts_for(world.agent1)
    # SQL: SELECT COUNT(*) FROM (… LIMIT n); MongoDB: an aggregate with $limit before its $count group.
    mongo = connection.vendor == "mongodb"
    if mongo:
        marker, limit = "'__count'", f"{{'$limit': {selectors.COUNT_CAP + 1}}}"
        counts = [q["sql"] for q in ctx.captured_queries if marker in q["sql"]]
    else:
        marker, limit = "COUNT(", f"LIMIT {selectors.COUNT_CAP + 1}"
        counts = [q["sql"] for q in ctx.captured_queries if marker in q["sql"].upper()]
    assert len(counts) == 3
    for sql in counts:
        assert limit in sql, sql
        if mongo:
            assert sql.index(limit) < sql.index(marker), sql


def test_agent_atendendo_count_is_its_own_even_outside_its_departments(world, meta_conn):
    # A ticket agent1 holds, since moved to Financeiro (not agent1's): still visible and counted.
    from tickets.models import Ticket

    ticket = f.make_ticket(meta_conn, agent=world.agent1)
    Ticket.objects.filter(pk=ticket.pk).update(department_id=world.t["fin"].department_id)
    assert selectors.ticket_counts_for(world.agent1)["atendendo"] == 2
    assert selectors.ticket_counts_for(world.agent2)["atendendo"] == 1


def _version(html):
    block = html[html.index('id="queue-live"') :]
    return re.search(r"v=([0-9a-f]{16})", block).group(1)


def test_poll_stays_204_for_changes_the_user_cannot_see(client, world):
    client.force_login(world.agent1)
    v = _version(client.get("/tickets/?status=espera").content.decode())
    # Financeiro's ticket is outside agent1's departments: nothing on its screen moves.
    services.ticket_claim(ticket=world.t["fin"], agent=world.agent3)
    poll = client.get("/tickets/", {"status": "espera", "v": v}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 204


def test_poll_rerenders_when_another_tab_count_moves(client, world):
    client.force_login(world.agent1)
    v = _version(client.get("/tickets/?status=espera").content.decode())
    services.ticket_close(ticket=world.t["um"], by=world.agent1)  # atendendo 1 → 0, finalizado 1 → 2
    poll = client.get("/tickets/", {"status": "espera", "v": v}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200
    body = poll.content.decode()
    assert _count_of(body, "atendendo") == "0" and _count_of(body, "finalizado") == "2"
    assert url(world.t["espera"]) in body
