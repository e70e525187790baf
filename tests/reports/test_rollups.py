"""The per-day rollups the services keep equal the figures read from the tickets: counts exactly, medians and
90th percentiles within the bucket bound, after a deterministic history that only the services wrote
(claims, replies, transfers of both kinds, closes, rating questions and answers, on two connections)."""

import random
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from accounts.models import User
from reports import figures, rollup_figures
from tests import factories as f
from tests.reports.history import SP, clock, local
from tickets import services
from tickets.models import ReportRollup, Ticket
from tickets.rollup_model import BUCKET_LOWS, BUCKET_VALUE, BUCKETS, COLUMNS, ERROR_BOUND, bucket
from tickets.services.inbound import rating_answer_ingest  # the door's step, not exported

pytestmark = pytest.mark.django_db


def test_the_buckets_are_frozen_and_within_the_bound():
    # Stored counts refer to these buckets: changing them silently corrupts every installation's rows.
    assert BUCKETS == 150 and BUCKET_LOWS[:20] == tuple(range(20)) and BUCKET_LOWS[-1] == 8501224
    for seconds in [*range(0, 5000), *range(5000, 8_500_000, 997)]:
        value = BUCKET_VALUE[bucket(seconds)]
        assert abs(value - seconds) <= ERROR_BOUND * seconds, (seconds, value)
    assert bucket(10**9) == BUCKETS - 1 and bucket(-5) == 0


def test_each_bucket_is_the_widest_its_value_keeps_within_the_bound():
    # The literals are what the derivation gives: every second of [lo, hi] within the bound of the value,
    # and one second more would break it for any value.
    assert BUCKET_LOWS[0] == 0 and BUCKET_VALUE[0] == 0 and BUCKET_VALUE[-1] == BUCKET_LOWS[-1]
    for i in range(1, BUCKETS - 1):
        lo, hi, value = BUCKET_LOWS[i], BUCKET_LOWS[i + 1] - 1, BUCKET_VALUE[i]
        assert lo <= value <= hi and max((value - lo) / lo, (hi - value) / hi) <= ERROR_BOUND, i
        wider = hi + 1
        best = round(2 * lo * wider / (lo + wider))
        assert max((best - lo) / lo, (wider - best) / wider) > ERROR_BOUND, i


@pytest.fixture
def boss(tenant):
    return f.make_user("chefe@demo.local", name="Chefe", reseller=tenant.reseller, role=User.Role.RESELLER)


@pytest.fixture
def both(tenant, agent1, agent3):
    """An agent of both departments, so an atendendo ticket can move between them with its holder."""
    return f.make_user(
        "ambos@demo.local", name="Ambos", reseller=tenant.reseller, departments=[tenant.suporte, tenant.financeiro]
    )


def _history(tenant, conns, agent1, agent2, agent3, both, boss, n=60):
    """Tickets over 1–6 March (São Paulo), every path through the services, chosen by a seeded generator."""
    config = tenant.reseller.config
    config.satisfaction_enabled = True
    config.save()
    suporte_agents = [agent1, agent2, both]
    for i in range(n):
        rng = random.Random(i)
        conn = conns[i % len(conns)]
        opened = local(1 + i % 6, rng.randint(0, 23), rng.randint(0, 59))
        with clock(opened):
            t = f.make_ticket(conn)
        if rng.random() < 0.2:
            if rng.random() < 0.5:  # espera moves to Financeiro, unclaimed
                with clock(opened + timedelta(minutes=1)):
                    services.ticket_transfer(ticket=t, by=boss, department=str(tenant.financeiro.pk))
            continue
        holder = rng.choice(suporte_agents)
        at = opened + timedelta(seconds=rng.randint(5, 900))
        with clock(at):
            t = services.ticket_claim(ticket=t, agent=holder)
        if rng.random() < 0.3:  # handed over before any answer, maybe to the other department
            at += timedelta(seconds=rng.randint(5, 3000))
            target, dept = rng.choice([(agent3, tenant.financeiro), (both, tenant.financeiro), (agent2, None)])
            if target.pk != holder.pk:
                with clock(at):
                    t = services.ticket_transfer(
                        ticket=t, by=boss, agent=str(target.pk), department=str(dept.pk) if dept else ""
                    )
                holder = target
        if rng.random() < 0.85:
            at = opened + timedelta(seconds=rng.randint(20, 40000))
            with clock(at):
                services.ticket_reply(ticket=t, agent=holder, text="Olá")
        if rng.random() < 0.2:  # moved after the answer: its first response moves with it
            at += timedelta(seconds=rng.randint(5, 3000))
            seen = Ticket.objects.get(pk=t.pk)
            other = tenant.suporte if seen.department_id == tenant.financeiro.pk else tenant.financeiro
            with clock(at):
                t = services.ticket_transfer(ticket=seen, by=boss, agent=str(both.pk), department=str(other.pk))
            holder = both
        if rng.random() < 0.6:
            at += timedelta(seconds=rng.randint(60, 50000))
            with clock(at):
                t = services.ticket_close(ticket=Ticket.objects.get(pk=t.pk), by=holder)
            if rng.random() < 0.6:
                answer = services.InboundMessage(
                    provider_message_id=f"wamid.rating{i}",
                    text=str(rng.randint(1, 5)),
                    timestamp=at + timedelta(minutes=5),
                )
                with clock(at + timedelta(minutes=5)):
                    rating_answer_ingest(connection=conn, client=t.client, msg=answer)


def _same(exact, rolled):
    """Counts equal; durations within the bound (and both present or both absent)."""
    for name in ("opened", "closed", "waiting", "ratings", "rating_avg", "ratings_asked", "rating_distribution"):
        assert getattr(rolled, name) == getattr(exact, name), name
    assert rolled.per_day == exact.per_day
    assert rolled.per_hour == exact.per_hour
    _durations(exact.first_response, rolled.first_response)
    _durations(exact.resolution, rolled.resolution)
    for kind in ("departments", "agents"):
        e = {r.key: r for r in getattr(exact, kind)}
        r = {r.key: r for r in getattr(rolled, kind)}
        assert set(e) == set(r), kind
        for key in e:
            for name in ("label", "opened", "claimed", "closed", "waiting", "ratings", "rating_avg"):
                assert getattr(r[key], name) == getattr(e[key], name), (kind, e[key].label, name)
            _durations(e[key].first_response, r[key].first_response)
            _durations(e[key].resolution, r[key].resolution)


def _durations(exact, rolled):
    assert rolled.count == exact.count
    for p in ("p50", "p90"):
        e, r = getattr(exact, p), getattr(rolled, p)
        assert (e is None) == (r is None)
        if e is not None:
            assert abs(r - e) <= ERROR_BOUND * e, (p, e, r)


def _scopes(tenant, conns, agent1, both):
    days = dict(first_day=date(2026, 3, 1), last_day=date(2026, 3, 6))
    yield figures.Scope(reseller=tenant.reseller, tz=SP, **days)
    yield figures.Scope(reseller=tenant.reseller, tz=SP, first_day=date(2026, 3, 3), last_day=date(2026, 3, 3))
    yield figures.Scope(reseller=tenant.reseller, tz=SP, first_day=date(2026, 3, 2), last_day=date(2026, 3, 9))
    yield figures.Scope(reseller=tenant.reseller, tz=SP, department_id=tenant.financeiro.pk, **days)
    yield figures.Scope(reseller=tenant.reseller, tz=SP, agent_id=both.pk, **days)
    yield figures.Scope(reseller=tenant.reseller, tz=SP, agent_id=agent1.pk, connection_id=conns[1].pk, **days)
    yield figures.Scope(reseller=tenant.reseller, tz=SP, connection_id=conns[0].pk, **days)


def _rows_now():
    key = ("reseller_id", "day", "department_id", "agent_key", "connection_id")
    return sorted(
        (*(str(r[k]) for k in key), *(r[c] for c in COLUMNS))
        for r in ReportRollup.objects.values(*key, *COLUMNS)
        if any(r[c] for c in COLUMNS)
    )


def test_the_services_keep_the_rollups_equal_to_the_exact_figures(
    tenant, meta_conn, evo_conn, agent1, agent2, agent3, both, boss, outsider
):
    conns = [meta_conn, evo_conn]
    _history(tenant, conns, agent1, agent2, agent3, both, boss)
    with clock(local(3, 10)):
        f.make_ticket(outsider.connection, agent=outsider.agent)  # another tenant's rows never count
    report = figures.build(
        figures.Scope(reseller=tenant.reseller, tz=SP, first_day=date(2026, 3, 1), last_day=date(2026, 3, 6)),
        exact=True,
    )
    # The history exercised what it should: transfers, answers, closes, ratings.
    assert report.opened == 60 and report.closed > 15 and report.ratings > 5 and report.ratings_asked > report.ratings
    assert {r.label for r in report.departments} == {"Suporte", "Financeiro"}
    for scope in _scopes(tenant, conns, agent1, both):
        _same(figures.build(scope, exact=True), figures.build(scope, exact=False))
    # A rebuild from the tickets finds exactly what the services counted, and a second one changes nothing.
    counted = _rows_now()
    call_command("rebuild_report_rollups")
    assert _rows_now() == counted
    services.report_rollups_rebuild(reseller_id=tenant.reseller.pk)
    assert _rows_now() == counted


def test_a_second_sync_adds_nothing_and_a_transfer_moves_the_counts(tenant, meta_conn, agent1, agent3, boss):
    with clock(local(2, 10)):
        t = f.make_ticket(meta_conn, agent=agent1)
    with clock(local(2, 10, 5)):
        services.ticket_reply(ticket=t, agent=agent1, text="Olá")
    assert services.ticket_rollup_sync(t.pk) is False  # a replay: nothing left to count
    before = _rows_now()
    with clock(local(2, 11)):
        services.ticket_transfer(
            ticket=Ticket.objects.get(pk=t.pk), by=boss, agent=str(agent3.pk), department=str(tenant.financeiro.pk)
        )
    cells = rollup_figures.cells(
        figures.Scope(reseller=tenant.reseller, tz=SP, first_day=date(2026, 3, 2), last_day=date(2026, 3, 2))
    )
    old, new = cells[(tenant.suporte.pk, agent1.pk)], cells[(tenant.financeiro.pk, agent3.pk)]
    assert (old["opened"], old["claimed"], old["responded"]) == (0, 0, 0)
    assert (new["opened"], new["claimed"], new["responded"], new["fr_" + f"{bucket(300):03d}"]) == (1, 1, 1, 1)
    assert _rows_now() != before
    assert ReportRollup.objects.filter(department=tenant.suporte, agent=agent1).exists()  # zeroed, never deleted


def test_a_sync_after_a_lost_write_catches_up(tenant, meta_conn, agent1):
    """A crash between a ticket's write and its sync: the next sync of the ticket counts what was missed."""
    with clock(local(2, 10)):
        t = f.make_ticket(meta_conn, agent=agent1)
    Ticket.objects.filter(pk=t.pk).update(first_response_seconds=15, first_response_at=local(2, 10, 1))
    assert services.ticket_rollup_sync(t.pk) is True
    scope = figures.Scope(reseller=tenant.reseller, tz=SP, first_day=date(2026, 3, 2), last_day=date(2026, 3, 2))
    assert figures.build(scope, exact=False).first_response.p50 == BUCKET_VALUE[bucket(15)] == 15


def test_the_threshold_picks_the_path(tenant, meta_conn, agent1, monkeypatch):
    for hour in (9, 10, 11):
        with clock(local(2, hour)):
            f.make_ticket(meta_conn, agent=agent1, closed_by=agent1)
    scope = figures.Scope(reseller=tenant.reseller, tz=SP, first_day=date(2026, 3, 2), last_day=date(2026, 3, 2))
    used = []
    real = rollup_figures.build
    monkeypatch.setattr(rollup_figures, "build", lambda *a: used.append(1) or real(*a))
    assert figures.build(scope).opened == 3 and used == []  # 3 opened + 3 closed ≤ EXACT_MAX: exact
    monkeypatch.setattr(figures, "EXACT_MAX", 5)
    assert figures.build(scope).opened == 3 and used == [1]
