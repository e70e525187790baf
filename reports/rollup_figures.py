"""The report's figures from the per-day rollups (tickets.rollup_model): rows, not tickets.

Two grouped sums over the tenant's rollup rows of the range — per (department, agent), per day — bounded
by days × departments × agents × connections whatever the number of tickets, and the same direct
"waiting now" count as the exact path (an index count of the tickets in Espera). Counts are exact;
a median or 90th percentile is the nearest-rank bucket of the summed histogram, reported as the
bucket's value: within tickets.rollup_model.ERROR_BOUND (5 %) of the exact figure (docs/reports.md).

Only `values()` of local fields with `Sum` annotations: the same queries on SQLite, PostgreSQL and MongoDB.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Sum

from reports.scope import PERCENTILES, Durations, Report, Row, Scope, agent_labels, department_labels, nearest_rank
from tickets.rollup_model import BUCKET_VALUE, COUNTERS, FIRST_RESPONSE, HOURS, RATED, RESOLUTION, ReportRollup

CELL_COLUMNS = (*COUNTERS, *RATED, *FIRST_RESPONSE, *RESOLUTION)


def rows(scope: Scope) -> Any:
    return _scoped(ReportRollup.objects.all(), scope)


def _scoped(qs: Any, scope: Scope) -> Any:
    qs = qs.filter(reseller=scope.reseller, day__gte=scope.first_day, day__lte=scope.last_day)
    if scope.department_id:
        qs = qs.filter(department_id=scope.department_id)
    if scope.connection_id:
        qs = qs.filter(connection_id=scope.connection_id)
    if scope.agent_id:
        qs = qs.filter(agent_id=scope.agent_id)
    return qs


# The grouped sums, built once: resolving some 300 Sum expressions costs more than running the query.
# A QuerySet is cloned by every filter(), so the shared one is never evaluated or changed.
_SUMS = ReportRollup.objects.values("department_id", "agent_id").annotate(**{f"s_{c}": Sum(c) for c in CELL_COLUMNS})


def cells(scope: Scope) -> dict[tuple[Any, Any], Counter]:
    """Every column summed per (department, agent) over the range: one grouped query."""
    sums = _scoped(_SUMS, scope)
    out: dict[tuple[Any, Any], Counter] = {}
    for row in sums.order_by():
        cell = out.setdefault((row["department_id"], row["agent_id"]), Counter())
        cell.update({c: row[f"s_{c}"] or 0 for c in CELL_COLUMNS})
    return out


def volume(found: dict[tuple[Any, Any], Counter]) -> int:
    return sum(cell["opened"] + cell["closed"] for cell in found.values())


def histogram_percentiles(cell: Counter, columns: tuple[str, ...], count: int) -> Durations:
    """Nearest rank over the summed buckets: the bucket holding the p-th value, as its value."""
    out = Durations(count=count)
    if count <= 0:
        return out
    for p in PERCENTILES:
        offset, seen = nearest_rank(p, count), 0
        for i, column in enumerate(columns):
            seen += cell[column]
            if seen > offset:
                setattr(out, f"p{p}", BUCKET_VALUE[i])
                break
    return out


def _rating(cell: Counter) -> tuple[int, float | None]:
    n = sum(cell[f"rated_{s}"] for s in range(1, 6))
    total = sum(s * cell[f"rated_{s}"] for s in range(1, 6))
    return n, (round(total / n, 2) if n else None)


def _by(found: dict[tuple[Any, Any], Counter], index: int) -> dict[Any, Counter]:
    out: dict[Any, Counter] = {}
    for pair, cell in found.items():
        out.setdefault(pair[index], Counter()).update(cell)
    return out


def _rows(key: str, by: dict[Any, Counter], extra: dict[Any, int], label_for: Any) -> list[Row]:
    """Per department (extra = waiting now) or per agent (claimed, from the rows themselves)."""
    keys = [k for k in {*(k for k, c in by.items() if c["opened"] or c["closed"]), *extra} if k is not None]
    labels = label_for(set(keys))
    out = []
    for k in keys:
        cell = by.get(k) or Counter()
        rated, avg = _rating(cell)
        out.append(
            Row(
                key=k,
                label=labels.get(k, "—"),
                opened=cell["opened"],
                claimed=extra.get(k, 0) if key == "agent_id" else 0,
                closed=cell["closed"],
                waiting=extra.get(k, 0) if key == "department_id" else 0,
                first_response=histogram_percentiles(cell, FIRST_RESPONSE, cell["responded"]),
                resolution=histogram_percentiles(cell, RESOLUTION, cell["resolved"]),
                ratings=rated,
                rating_avg=avg,
            )
        )
    out.sort(key=lambda r: (-r.opened - r.closed, r.label))
    return out


def build(scope: Scope, found: dict[tuple[Any, Any], Counter], waiting: dict[Any, int]) -> Report:
    total: Counter = Counter()
    for cell in found.values():
        total.update(cell)
    daily = {
        row["day"]: row
        for row in rows(scope)
        .values("day")
        .annotate(s_opened=Sum("opened"), s_closed=Sum("closed"), **{f"s_{h}": Sum(h) for h in HOURS})
        .order_by()
    }
    per_hour: Counter = Counter()
    for day, row in daily.items():
        for hour, column in enumerate(HOURS):
            if row[f"s_{column}"]:
                per_hour[(day.isoweekday(), hour)] += row[f"s_{column}"]
    rated, avg = _rating(total)
    agents = _by(found, 1)
    claimed = {k: c["claimed"] for k, c in agents.items() if c["claimed"]}
    return Report(
        scope=scope,
        opened=total["opened"],
        closed=total["closed"],
        waiting=sum(waiting.values()),
        first_response=histogram_percentiles(total, FIRST_RESPONSE, total["responded"]),
        resolution=histogram_percentiles(total, RESOLUTION, total["resolved"]),
        ratings=rated,
        rating_avg=avg,
        ratings_asked=total["asked"],
        rating_distribution={score: total[f"rated_{score}"] for score in range(1, 6)},
        per_day=[
            (
                day,
                (daily[day]["s_opened"] or 0) if day in daily else 0,
                (daily[day]["s_closed"] or 0) if day in daily else 0,
            )
            for day in scope.days
        ],
        per_hour=dict(per_hour),
        departments=_rows("department_id", _by(found, 0), waiting, department_labels),
        agents=_rows("agent_id", agents, claimed, agent_labels),
    )
