"""The pages' plans on an embedded SQLite database nobody has ANALYZEd, and the statistics kept for the rest.

SQLite has no autovacuum: without ANALYZE its planner rates every index by the same default guesses, so a
query that leaves it a choice between two equally rated indexes gets whichever comes first. The client's
earlier tickets (the conversation page) named the tenant and the client, and SQLite walked the tenant's
report index (reseller, created_at) backwards through every ticket: 170 ms at 100,000 tickets instead of
0.1 ms. Each page's queries are captured as they run here, then explained on a new database file with this
schema and these tickets and no statistics at all, which is how such a plan shows up without 100,000 rows:
without statistics, SQLite's plan depends on the schema and the query alone.
"""

import random
import sqlite3
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Client
from iaze.lib import sqlite_stats
from tests import factories as f
from tickets import services
from tickets.models import Ticket
from tickets.reads import selectors

OTHER_TICKETS = 1000
# Tables that grow with the traffic: a page may never read one of them from end to end.
BIG_TABLES = ("tickets", "messages", "ticket_events", "clients", "ticket_search_terms", "client_search_terms")


@pytest.fixture
def sqlite_only(db):
    if connection.vendor != "sqlite":
        pytest.skip("by design: the embedded SQLite profile's planner (PostgreSQL keeps statistics by autovacuum)")


def _many_tickets(conn, agents, n=OTHER_TICKETS):
    # Volume only: bulk rows stand in for years of other clients of the same tenant.
    clients = Client.objects.bulk_create(
        [
            Client(reseller=conn.reseller, identity=f"5599{i:09d}", wa_id=f"5599{i:09d}", phone=f"5599{i:09d}")
            for i in range(n)
        ]
    )
    rng, now = random.Random(7), timezone.now()
    rows = []
    for i, client in enumerate(clients):
        at = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
        agent = agents[i % len(agents)] if i % 3 else None
        rows.append(
            Ticket(
                reseller=conn.reseller,
                department_id=conn.default_department_id,
                client=client,
                connection=conn,
                status="closed" if agent and i % 2 else "open",
                agent=agent,
                closed_by=agent if agent and i % 2 else None,
                last_message_at=at,
                last_message_preview=f"mensagem {i}",
            )
        )
    Ticket.objects.bulk_create(rows)


def _unanalysed_copy(tmp_path):
    """A new database file with the test database's schema and tickets, never analysed."""
    fresh = sqlite3.connect(tmp_path / "fresh.sqlite3")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index'"
        )
        for (ddl,) in cur.fetchall():
            fresh.execute(ddl)
        cur.execute("SELECT * FROM tickets")
        rows = cur.fetchall()
    fresh.executemany(f"INSERT INTO tickets VALUES ({', '.join('?' * len(rows[0]))})", rows)
    fresh.commit()
    assert fresh.execute("SELECT count(*) FROM tickets").fetchone()[0] > OTHER_TICKETS
    assert not fresh.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
    return fresh


def _plan(db, sql: str) -> str:
    return "; ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + sql))


def _history_sql(user, ticket, dept_ids=None) -> str:
    with CaptureQueriesContext(connection) as ctx:
        selectors.ticket_history_for(user, ticket, dept_ids=dept_ids)
    (query,) = [q["sql"] for q in ctx.captured_queries if '"tickets"."client_id" =' in q["sql"]]
    return query


@pytest.fixture
def history(tenant, meta_conn, agent1, agent2, reseller_user, admin_user):
    _many_tickets(meta_conn, [agent1, agent2])
    other_conn = f.make_connection(tenant.reseller, tenant.suporte, key="other", phone_number_id="100000000000077")
    earlier = f.make_ticket(meta_conn, agent=agent1, closed_by=agent1)
    second = f.make_ticket(other_conn, client=earlier.client, agent=agent2, closed_by=agent2)
    current = f.make_ticket(meta_conn, client=earlier.client, agent=agent1)
    return current, {earlier.pk, second.pk}


def test_earlier_tickets_use_the_client_index_without_statistics_and_with(
    sqlite_only, tmp_path, history, agent1, reseller_user, admin_user
):
    current, earlier = history
    fresh = _unanalysed_copy(tmp_path)
    queries = {who.email: _history_sql(who, current) for who in (agent1, reseller_user, admin_user)}
    for who, sql in queries.items():
        plan = _plan(fresh, sql)
        assert "USING INDEX ticket_client_history (client_id=?)" in plan, (who, plan)
        assert "ticket_report" not in plan and "SCAN tickets" not in plan, (who, plan)
    # Once statistics exist (what the worker's pass and PRAGMA optimize leave), still by the client: its
    # history index or the plain one on client_id, which the statistics rate the same.
    fresh.execute("ANALYZE")
    for who, sql in queries.items():
        plan = _plan(fresh, sql)
        assert "SEARCH tickets USING INDEX" in plan and "(client_id=?)" in plan, (who, plan)
        assert "ticket_report" not in plan, (who, plan)
    for who in (agent1, reseller_user, admin_user):
        assert {t.pk for t in selectors.ticket_history_for(who, current)} == earlier, who.email


def test_earlier_tickets_stay_in_the_users_scope(history, agent1, agent3, reseller_user, outsider):
    """On every profile: read by the client, the tenant and the departments still decide."""
    current, earlier = history
    # A ticket of another tenant naming this client (which the services never write): never shown.
    foreign, _created = services.inbound_route(connection=outsider.connection, client=current.client)
    assert foreign.reseller_id != current.reseller_id
    assert {t.pk for t in selectors.ticket_history_for(agent1, current)} == earlier
    assert {t.pk for t in selectors.ticket_history_for(reseller_user, current)} == earlier
    # An agent of another department sees none of them; another tenant's users see nothing at all.
    assert selectors.ticket_history_for(agent3, current) == []
    for who in (outsider.agent, outsider.reseller_user):
        assert selectors.ticket_history_for(who, current) == []


def test_queue_and_conversation_read_no_big_table_through_without_statistics(
    sqlite_only, tmp_path, client, history, agent1, reseller_user
):
    current, _earlier = history
    pages = {
        agent1: ["/tickets/?status=espera", "/tickets/?status=atendendo", f"/tickets/{current.pk}/"],
        reseller_user: ["/tickets/?status=espera", "/tickets/?status=atendendo", f"/tickets/{current.pk}/"],
    }
    captured = []
    for user, paths in pages.items():
        client.force_login(user)
        for path in paths:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(path).status_code == 200
            captured += [(path, q["sql"]) for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    fresh = _unanalysed_copy(tmp_path)
    seen = set()
    for path, sql in captured:
        plan = _plan(fresh, sql)
        seen.update(part.split(" (")[0] for part in plan.split("; "))
        for table in BIG_TABLES:
            assert f"SCAN {table}" not in plan, (path, sql, plan)
        assert "ticket_report" not in plan, (path, sql, plan)
    assert "SEARCH tickets USING INDEX ticket_client_history" in seen
    assert any("ticket_queue" in step for step in seen)
    assert "SEARCH messages USING INDEX message_thread" in seen


def _wrapper(path, alias):
    """A Django connection of its own to another SQLite file, set up like the installation's."""
    return type(connections["default"])({**connections["default"].settings_dict, "NAME": str(path)}, alias=alias)


def test_the_workers_pass_analyses_a_database_that_has_no_statistics(sqlite_only, tmp_path, history):
    fresh = _unanalysed_copy(tmp_path)
    fresh.close()
    wrapper = _wrapper(tmp_path / "fresh.sqlite3", "fresh")
    try:
        # From SQLite 3.46 the connection's own PRAGMA optimize, when it opens, analyses such a database already.
        assert sqlite_stats.has_statistics(wrapper) is sqlite_stats.OPTIMIZE_SEES_EVERY_TABLE
        ran = sqlite_stats.statistics_refresh(wrapper)
        assert ran == ("optimize" if sqlite_stats.OPTIMIZE_SEES_EVERY_TABLE else "analyze")
        assert sqlite_stats.has_statistics(wrapper)
        stats = dict(wrapper.connection.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'tickets'").fetchall())
        assert int(stats["ticket_client_history"].split()[0]) > OTHER_TICKETS
    finally:
        wrapper.close()


def test_each_new_connection_runs_optimize_outside_the_query_log(sqlite_only, tmp_path, monkeypatch):
    ran, real = [], sqlite_stats._run
    monkeypatch.setattr(sqlite_stats, "_run", lambda raw, statement: (ran.append(statement), real(raw, statement)))
    wrapper = _wrapper(tmp_path / "new.sqlite3", "new")
    try:
        with CaptureQueriesContext(wrapper) as ctx:
            wrapper.close()
            with wrapper.cursor() as cursor:  # opens a new connection
                cursor.execute("SELECT 1")
        assert ran == [sqlite_stats.OPTIMIZE] * 2  # the context's own connection, then the new one
        assert [q["sql"] for q in ctx.captured_queries] == ["SELECT 1"]  # a page's query count stays its own
    finally:
        wrapper.close()
