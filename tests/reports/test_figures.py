"""Each figure of the report on the hand-built history of tests/reports/history.py, where the answers are known."""

from datetime import date

import pytest

from reports import figures
from reports.scope import nearest_rank
from tests.reports.history import SP, build, clock, local
from tickets import services
from tickets.models import Ticket
from tickets.rollup_model import ERROR_BOUND

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["exact", "rollups"])
def path(request, monkeypatch):
    """Every figure on both paths: read from the tickets, and from the per-day rollups (reports.rollup_figures)."""
    if request.param == "rollups":
        monkeypatch.setattr(figures, "EXACT_MAX", -1)
    return request.param


@pytest.fixture
def history(path, tenant, meta_conn, agent1, agent2, agent3, outsider):
    built = build(tenant, meta_conn, agent1, agent2, agent3, outsider)
    if path == "rollups":
        # The history sets department and rating by direct updates, as the services' results: recount.
        services.report_rollups_rebuild()
    return built


@pytest.fixture
def near(path):
    """A duration as the path reports it: exact from the tickets, within the bucket bound from the rollups."""
    if path == "exact":
        return lambda seconds: seconds
    return lambda seconds: pytest.approx(seconds, rel=ERROR_BOUND)


def scope(tenant, **filters):
    days = dict(first_day=date(2026, 3, 2), last_day=date(2026, 3, 4))
    return figures.Scope(reseller=tenant.reseller, tz=SP, **days, **filters)


def test_services_stamp_the_durations(history):
    t1, t3, t4, t6 = (history[k] for k in ("T1", "T3", "T4", "T6"))
    assert (t1.first_response_seconds, t1.resolution_seconds) == (60, 3600)
    assert t1.first_response_at == local(2, 10, 1)
    assert (t3.first_response_seconds, t3.resolution_seconds) == (300, None)  # still open
    assert (t4.first_response_seconds, t4.first_response_at) == (None, None)  # nobody answered
    assert (t6.first_response_seconds, t6.resolution_seconds) == (None, 13 * 3600)


def test_a_second_reply_does_not_move_the_first_response(history, agent2):
    t3 = history["T3"]
    with clock(local(3, 12)):
        services.ticket_reply(ticket=t3, agent=agent2, text="mais uma")
    t3.refresh_from_db()
    assert t3.first_response_seconds == 300 and t3.first_response_at == local(3, 9, 5)


def test_totals(history, tenant, near):
    report = figures.build(scope(tenant))
    assert (report.opened, report.closed, report.waiting) == (5, 4, 1)
    # first response over T1, T2, T3, T5 = [60, 120, 300, 600]; nearest rank: median 2nd, p90 4th
    assert (report.first_response.count, report.first_response.p50, report.first_response.p90) == (
        4,
        near(120),
        near(600),
    )
    # resolution over T6, T1, T2, T5 = [1800, 3600, 7200, 46800]
    assert (report.resolution.count, report.resolution.p50, report.resolution.p90) == (4, near(3600), near(46800))
    assert (report.ratings, report.rating_avg, report.ratings_asked) == (2, 4.0, 2)
    assert report.rating_distribution == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}  # the outsider's 1 is not here


def test_per_day_in_the_tenant_time_zone(history, tenant):
    report = figures.build(scope(tenant))
    # T4 opened Tuesday 23:30 in São Paulo (Wednesday 02:30 UTC): it belongs to Tuesday.
    assert report.per_day == [
        (date(2026, 3, 2), 2, 3),
        (date(2026, 3, 3), 2, 0),
        (date(2026, 3, 4), 1, 1),
    ]
    assert report.per_hour[(2, 23)] == 1  # Tuesday 23h
    assert report.per_hour[(1, 10)] == 1 and report.per_hour[(1, 11)] == 1
    assert sum(report.per_hour.values()) == 5


def test_per_department(history, tenant, near):
    rows = {r.label: r for r in figures.build(scope(tenant)).departments}
    assert set(rows) == {"Suporte", "Financeiro"}
    s, fin = rows["Suporte"], rows["Financeiro"]
    assert (s.opened, s.closed, s.waiting, s.first_response.p50, s.resolution.p50) == (4, 3, 1, near(120), near(7200))
    assert (s.ratings, s.rating_avg) == (2, 4.0)
    assert (fin.opened, fin.closed, fin.waiting, fin.first_response.p50, fin.resolution.p50) == (
        1,
        1,
        0,
        near(600),
        near(1800),
    )


def test_per_agent(history, tenant, near):
    rows = {r.label: r for r in figures.build(scope(tenant)).agents}
    assert set(rows) == {"Agente 1", "Agente 2", "Agente 3"}
    a1, a2, a3 = rows["Agente 1"], rows["Agente 2"], rows["Agente 3"]
    assert (a1.claimed, a1.closed, a1.first_response.p50, a1.rating_avg) == (
        2,
        3,
        near(60),
        4.0,
    )  # T6 claimed on Sunday
    assert (a2.claimed, a2.closed, a2.first_response.p50, a2.rating_avg) == (1, 0, near(300), None)
    assert (a3.claimed, a3.closed, a3.first_response.p50) == (1, 1, near(600))


def test_filters(history, tenant, agent1, meta_conn, outsider, near):
    by_agent = figures.build(scope(tenant, agent_id=agent1.pk))
    assert (by_agent.opened, by_agent.closed, by_agent.first_response.p50) == (2, 3, near(60))
    assert by_agent.waiting == 1  # Espera has no agent: the agent filter does not apply to it
    by_dept = figures.build(scope(tenant, department_id=tenant.financeiro.pk))
    assert (by_dept.opened, by_dept.closed, by_dept.waiting) == (1, 1, 0)
    # Another tenant's connection as a filter matches nothing of this tenant.
    foreign = figures.build(scope(tenant, connection_id=outsider.connection.pk))
    assert (foreign.opened, foreign.closed, foreign.waiting, foreign.ratings) == (0, 0, 0, 0)
    assert (figures.build(scope(tenant, connection_id=meta_conn.pk)).opened) == 5


def test_one_day_and_an_empty_range(history, tenant, near):
    monday = figures.build(
        figures.Scope(reseller=tenant.reseller, tz=SP, first_day=date(2026, 3, 2), last_day=date(2026, 3, 2))
    )
    assert (monday.opened, monday.closed, monday.first_response.p50, monday.first_response.p90) == (
        2,
        3,
        near(60),
        near(120),
    )
    empty = figures.build(
        figures.Scope(reseller=tenant.reseller, tz=SP, first_day=date(2025, 1, 1), last_day=date(2025, 1, 31))
    )
    assert (empty.opened, empty.closed, empty.first_response.p50, empty.rating_avg) == (0, 0, None, None)
    assert empty.agents == [] and len(empty.per_day) == 31
    # Waiting is "now", whatever the range: the department with a ticket in Espera still shows it.
    assert [(r.label, r.opened, r.closed, r.waiting) for r in empty.departments] == [("Suporte", 0, 0, 1)]


def test_the_outsider_sees_only_its_own(history, outsider):
    report = figures.build(
        figures.Scope(reseller=outsider.reseller, tz=SP, first_day=date(2026, 3, 2), last_day=date(2026, 3, 4))
    )
    assert (report.opened, report.closed, report.waiting, report.ratings, report.rating_avg) == (2, 1, 1, 1, 1.0)
    assert Ticket.objects.count() == 8


@pytest.mark.parametrize("p, n, offset", [(50, 1, 0), (90, 1, 0), (50, 4, 1), (90, 4, 3), (50, 5, 2), (90, 10, 8)])
def test_nearest_rank(p, n, offset):
    assert nearest_rank(p, n) == offset
