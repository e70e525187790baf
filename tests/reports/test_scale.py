"""The report's cost does not grow with tickets: the services stamp local days, and a build's query count
is the same with few and with many tickets (timings are measured by bench/report_build.py, not here)."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import figures
from tests import factories as f
from tests.reports.history import SP, build, clock, local
from tickets import services
from tickets.models import Ticket
from tickets.rules import localtime

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(tenant, meta_conn, agent1, agent2, agent3, outsider):
    return build(tenant, meta_conn, agent1, agent2, agent3, outsider)


def scope(tenant):
    return figures.Scope(reseller=tenant.reseller, tz=SP, first_day=date(2026, 3, 2), last_day=date(2026, 3, 4))


def test_the_services_stamp_local_days_and_hours(history):
    t4, t6 = Ticket.objects.get(pk=history["T4"].pk), Ticket.objects.get(pk=history["T6"].pk)
    # Tue 23:30 in São Paulo is already Wednesday in UTC: the local day is Tuesday, hour 23 of day 2.
    assert (t4.opened_local_date, t4.opened_local_how, t4.closed_local_date) == (date(2026, 3, 3), 24 + 23, None)
    # Sunday 20:00, closed Monday 09:00.
    assert (t6.opened_local_date, t6.opened_local_how) == (date(2026, 3, 1), 6 * 24 + 20)
    assert t6.closed_local_date == date(2026, 3, 2)


def test_hour_of_week_round_trip():
    assert [localtime.weekday_hour(h) for h in (0, 23, 24, 167)] == [(1, 0), (1, 23), (2, 0), (7, 23)]


def test_the_local_day_follows_the_reseller_zone(tenant, meta_conn):
    from accounts.models import ResellerConfig

    ResellerConfig.objects.update_or_create(reseller=tenant.reseller, defaults={"timezone": "Asia/Tokyo"})
    with clock(local(2, 11)):  # 11:00 in São Paulo = 23:00 in Tokyo
        t = f.make_ticket(meta_conn)
    assert (t.opened_local_date, t.opened_local_how) == (date(2026, 3, 2), 23)


def _more(meta_conn, agent1, agent2, n: int) -> None:
    """n tickets of the same departments and agents over the three days, answered; one in three closed."""
    for i in range(n):
        opened = local(2 + i % 3, 8 + i % 12, i % 60)
        with clock(opened):
            t = f.make_ticket(meta_conn, agent=agent1 if i % 2 else agent2)
        with clock(opened + timedelta(seconds=30 + i)):
            services.ticket_reply(ticket=t, agent=t.agent, text="Olá")
        if i % 3 == 0:
            with clock(opened + timedelta(seconds=600 + i)):
                services.ticket_close(ticket=t, by=t.agent)


@pytest.mark.parametrize("exact_max", [10**9, -1], ids=["exact", "rollups"])
def test_the_query_count_does_not_grow_with_tickets(history, tenant, meta_conn, agent1, agent2, exact_max, monkeypatch):
    monkeypatch.setattr(figures, "EXACT_MAX", exact_max)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            figures.build(scope(tenant))
        return len(ctx.captured_queries)

    _more(meta_conn, agent1, agent2, 6)
    few = queries()
    _more(meta_conn, agent1, agent2, 30)
    assert figures.build(scope(tenant)).opened == 5 + 6 + 30
    assert queries() == few
