"""select_related and only() give the same objects on every profile; on MongoDB without a join.

On MongoDB a join is a `$lookup` placed before the query's `$match`/`$sort`/`$limit`, so it would
join every row of a tab to show 25 (iaze/lib/related.py); the relations are read by key instead.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as f
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def _no_join(ctx):
    if connection.vendor == "mongodb":
        assert not [q for q in ctx.captured_queries if "$lookup" in q["sql"]]


def test_rows_come_with_their_relations_and_reading_them_costs_nothing(meta_conn, agent1):
    held = f.make_ticket(meta_conn, agent=agent1)
    waiting = f.make_ticket(meta_conn)
    expected = {
        held.pk: (held.client.name, held.department.name, agent1.email),
        waiting.pk: (waiting.client.name, waiting.department.name, None),  # no holder: None, and no read
    }
    with CaptureQueriesContext(connection) as ctx:
        rows = list(
            Ticket.objects.filter(pk__in=[held.pk, waiting.pk])
            .select_related("client", "department", "agent")
            .order_by("-last_message_at")
        )
    _no_join(ctx)
    with CaptureQueriesContext(connection) as after:
        seen = {t.pk: (t.client.name, t.department.name, t.agent and t.agent.email) for t in rows}
    assert not after.captured_queries
    assert seen == expected


def test_nested_relations_and_get_follow_the_same_rule(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    expected = (ticket.client.name, agent1.email, agent1.email, meta_conn.reseller.slug)
    with CaptureQueriesContext(connection) as ctx:
        message = Message.objects.select_related("ticket__client", "ticket__agent").filter(ticket=ticket).get()
        fresh = Ticket.objects.select_related("agent", "reseller").get(pk=ticket.pk)
    _no_join(ctx)
    with CaptureQueriesContext(connection) as after:
        names = (message.ticket.client.name, message.ticket.agent.email, fresh.agent.email, fresh.reseller.slug)
    assert not after.captured_queries
    assert names == expected


def test_only_with_related_fields_loads_what_it_names(meta_conn):
    ticket = f.make_ticket(meta_conn)
    expected = (ticket.status, ticket.client.name)
    [row] = Ticket.objects.filter(pk=ticket.pk).select_related("client").only("status", "client__name")
    with CaptureQueriesContext(connection) as after:
        assert (row.status, row.client.name) == expected
    assert not after.captured_queries
    assert row.get_deferred_fields() >= {"last_message_preview"}


def test_the_relation_reads_do_not_grow_with_the_rows(meta_conn, agent1):
    def count(n):
        with CaptureQueriesContext(connection) as ctx:
            rows = list(Ticket.objects.select_related("client", "department", "agent").order_by("-created_at")[:n])
        assert len(rows) == n
        return len(ctx.captured_queries)

    for _ in range(6):
        f.make_ticket(meta_conn, agent=agent1)
    assert count(2) == count(6)


def test_values_and_counts_are_untouched(meta_conn):
    ticket = f.make_ticket(meta_conn)
    qs = Ticket.objects.select_related("client").filter(pk=ticket.pk)
    assert qs.count() == 1
    assert list(qs.values_list("status", flat=True)) == [ticket.status]
