"""The rollups under real concurrency on PostgreSQL: real threads released together by a barrier, no sleeps."""

import pytest

from reports import figures, rollup_figures
from tests import factories as f
from tests.support.races import race, raise_first_error
from tickets import services
from tickets.models import ReportRollup, Ticket
from tickets.rollup_model import COLUMNS

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def _today_scope(tenant, ticket):
    day = Ticket.objects.get(pk=ticket.pk).opened_local_date
    return figures.Scope(
        reseller=tenant.reseller, tz=figures.reseller_timezone(tenant.reseller), first_day=day, last_day=day
    )


def test_concurrent_syncs_of_one_ticket_count_it_once(tenant, meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    # As if its counts were lost: the copies say "never counted" and the rows are zero.
    Ticket.objects.filter(pk=ticket.pk).update(rolled_version=0)
    ReportRollup.objects.update(**dict.fromkeys(COLUMNS, 0))
    results = race(8, lambda i: services.ticket_rollup_sync(ticket.pk))
    raise_first_error(results)
    assert results.count(True) == 1, results
    cell = rollup_figures.cells(_today_scope(tenant, ticket))[(tenant.suporte.pk, agent1.pk)]
    assert (cell["opened"], cell["claimed"]) == (1, 1)


def test_tickets_opened_at_once_share_one_new_row(tenant, meta_conn):
    clients = [f.make_client(tenant.reseller) for _ in range(8)]
    results = race(8, lambda i: services.inbound_route(connection=meta_conn, client=clients[i]))
    raise_first_error(results)
    ticket = results[0][0]
    assert ReportRollup.objects.filter(reseller=tenant.reseller).count() == 1
    assert ReportRollup.objects.get().opened == 8
    assert figures.build(_today_scope(tenant, ticket), exact=False).opened == 8


def test_a_transfer_racing_the_first_reply_leaves_the_counts_where_the_ticket_is(
    tenant, meta_conn, agent1, agent2, agent3, reseller_user
):
    tickets = [f.make_ticket(meta_conn, agent=agent1) for _ in range(4)]

    def work(i):
        t = Ticket.objects.select_related("department", "agent", "reseller", "connection").get(pk=tickets[i // 2].pk)
        try:
            if i % 2:
                return services.ticket_transfer(
                    ticket=t, by=reseller_user, agent=str(agent3.pk), department=str(tenant.financeiro.pk)
                )
            return services.ticket_reply(ticket=t, agent=agent1, text="Olá")
        except (services.TicketConflict, services.NotAllowed) as exc:
            return exc

    race(8, work)
    scope = _today_scope(tenant, tickets[0])
    exact, rolled = figures.build(scope, exact=True), figures.build(scope, exact=False)
    assert exact.first_response.count == rolled.first_response.count
    for kind in ("departments", "agents"):
        e = {(r.key, r.opened, r.claimed, r.first_response.count) for r in getattr(exact, kind)}
        r = {(r.key, r.opened, r.claimed, r.first_response.count) for r in getattr(rolled, kind)}
        assert e == r, kind
