"""The report's figures, computed in the database with a number of queries that does not grow with tickets.

Two paths with the same answers: `build_exact` below reads the tickets (exact percentiles; its cost grows
with the tickets in the range), `reports.rollup_figures` reads the per-day rollups the services keep
(cost bounded by days × departments × agents × connections; percentiles within 5 %). `build` picks the
exact path while the range holds at most EXACT_MAX tickets (docs/reports.md, "Fast at size"). Both paths
build the shapes of reports.scope (Scope, Durations, Row, Report).
The rest of this docstring describes the exact path.

Every figure reads `Ticket` rows of one tenant only (`Scope.reseller`). The services stamp, in the
same write that opens or closes a ticket, its local day and hour of the week in the tenant's time
zone (`opened_local_date`, `opened_local_how`, `closed_local_date`; see tickets.rules.localtime), so a
range of local days is a plain range of an indexed column and the groupings convert no time zone.
The report is a fixed set of GROUP BY queries (per day and hour; per department × agent; per rating),
whose results are bounded by days, departments and agents, never by tickets; totals are summed from
them in Python. The durations are stored in whole seconds (`first_response_seconds`,
`resolution_seconds`), so a percentile is exact: its count comes from a grouping, and one sorted
query reads a single row at an offset (nearest-rank method), on an index ending with the duration.
Medians per department and agent are one such query each, bounded by the tenant's size.

Only plain aggregates, `annotate` on local fields and `values_list` of local fields are used, so the
same code runs on SQLite, PostgreSQL and MongoDB (no raw SQL, no `values()` across relations);
department and agent names come from one `in_bulk` each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, QuerySet

from accounts.models import Department
from reports import rollup_figures
from reports.scope import (
    DEFAULT_TIMEZONE,
    PERCENTILES,
    Durations,
    Report,
    Row,
    Scope,
    agent_labels,
    department_labels,
    nearest_rank,
    reseller_timezone,
)
from tickets.models import Ticket, UIState
from tickets.rules import localtime

__all__ = [
    "DEFAULT_TIMEZONE",
    "EXACT_MAX",
    "Durations",
    "Report",
    "Row",
    "Scope",
    "build",
    "build_exact",
    "percentiles",
    "reseller_timezone",
]


def percentiles(qs: QuerySet[Ticket], field_name: str, *, count: int | None = None) -> Durations:
    """One count (unless given) and one single-row sorted query per percentile."""
    qs = qs.filter(**{f"{field_name}__isnull": False})
    n = qs.count() if count is None else count
    out = Durations(count=n)
    if n == 0:
        return out
    ordered = qs.order_by(field_name).values_list(field_name, flat=True)
    for p in PERCENTILES:
        offset = nearest_rank(p, n)
        value = ordered[offset : offset + 1]
        setattr(out, f"p{p}", next(iter(value), None))
    return out


def _grouped_counts(qs: QuerySet[Ticket], key: str) -> dict[Any, int]:
    return {row[key]: row["n"] for row in qs.values(key).annotate(n=Count("*")).order_by()}


def _rating(n: int, total: int) -> float | None:
    return round(total / n, 2) if n else None


@dataclass
class _Cell:
    """The counts of one (department, agent) pair, summed into the department's and the agent's rows."""

    opened: int = 0
    responded: int = 0  # opened with a first response
    closed: int = 0
    resolved: int = 0  # closed with a resolution time
    asked: int = 0
    ratings: Counter = field(default_factory=Counter)  # score -> closed tickets rated so

    def add(self, other: _Cell) -> None:
        self.opened += other.opened
        self.responded += other.responded
        self.closed += other.closed
        self.resolved += other.resolved
        self.asked += other.asked
        self.ratings.update(other.ratings)

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    @property
    def rating_avg(self) -> float | None:
        return _rating(self.rated, sum(score * n for score, n in self.ratings.items()))


def _cells(scope: Scope) -> dict[tuple[Any, Any], _Cell]:
    """Two GROUP BY queries: opened per (department, agent), closed per (department, agent, rating)."""
    cells: dict[tuple[Any, Any], _Cell] = {}
    opened = (
        scope.opened()
        .values("department_id", "agent_id")
        .annotate(n=Count("*"), responded=Count("first_response_seconds"))
        .order_by()
    )
    for row in opened:
        cell = cells.setdefault((row["department_id"], row["agent_id"]), _Cell())
        cell.opened += row["n"]
        cell.responded += row["responded"]
    closed = (
        scope.closed()
        .values("department_id", "agent_id", "rating")
        .annotate(n=Count("*"), resolved=Count("resolution_seconds"), asked=Count("rating_asked_at"))
        .order_by()
    )
    for crow in closed:
        cell = cells.setdefault((crow["department_id"], crow["agent_id"]), _Cell())
        cell.closed += crow["n"]
        cell.resolved += crow["resolved"]
        cell.asked += crow["asked"]
        if crow["rating"] is not None:
            cell.ratings[crow["rating"]] += crow["n"]
    return cells


def _by(cells: dict[tuple[Any, Any], _Cell], index: int) -> dict[Any, _Cell]:
    out: dict[Any, _Cell] = {}
    for pair, cell in cells.items():
        out.setdefault(pair[index], _Cell()).add(cell)
    return out


def _opened_grid(scope: Scope) -> dict[tuple[Any, Any], int]:
    """Tickets opened per (local day, hour of the week): at most 24 rows a day, from one index."""
    rows = scope.opened().values("opened_local_date", "opened_local_how").annotate(n=Count("*")).order_by()
    return {(row["opened_local_date"], row["opened_local_how"]): row["n"] for row in rows}


def _per_day(scope: Scope, grid: dict[tuple[Any, Any], int]) -> list[tuple[date, int, int]]:
    opened: Counter = Counter()
    for (day, _how), n in grid.items():
        opened[day] += n
    closed = _grouped_counts(scope.closed(), "closed_local_date")
    return [(day, opened.get(day, 0), closed.get(day, 0)) for day in scope.days]


def _per_hour(grid: dict[tuple[Any, Any], int]) -> dict[tuple[int, int], int]:
    out: Counter = Counter()
    for (_day, how), n in grid.items():
        if how is not None:
            out[localtime.weekday_hour(how)] += n
    return dict(out)


def _rows(
    scope: Scope,
    key: str,
    cells: dict[Any, _Cell],
    extra: dict[Any, int],
    label_for: Callable[[set], dict[Any, str]],
) -> list[Row]:
    """Per department (key department_id; extra = waiting now) or per agent (key agent_id; extra = claimed)."""
    keys = [k for k in {*(k for k, c in cells.items() if c.opened or c.closed), *extra} if k is not None]
    labels = label_for(set(keys))
    opened_qs, closed_qs = scope.opened(), scope.closed()
    rows = []
    for k in keys:
        cell = cells.get(k) or _Cell()
        rows.append(
            Row(
                key=k,
                label=labels.get(k, "—"),
                opened=cell.opened,
                claimed=extra.get(k, 0) if key == "agent_id" else 0,
                closed=cell.closed,
                waiting=extra.get(k, 0) if key == "department_id" else 0,
                first_response=percentiles(
                    opened_qs.filter(**{key: k}), "first_response_seconds", count=cell.responded
                ),
                resolution=percentiles(closed_qs.filter(**{key: k}), "resolution_seconds", count=cell.resolved),
                ratings=cell.rated,
                rating_avg=cell.rating_avg,
            )
        )
    rows.sort(key=lambda r: (-r.opened - r.closed, r.label))
    return rows


# Up to this many tickets opened or closed in the range (the rollups say how many), the figures are read
# from the tickets themselves, exactly; above it, from the per-day rollups (reports.rollup_figures).
EXACT_MAX = 5000


def _waiting(scope: Scope) -> dict[Any, int]:
    """Tickets in Espera now, per department: one count per department of the tenant, each answered by the
    (department, status, agent) index alone, where a grouping by department would read every waiting
    ticket's row. Tickets in Espera have no agent: the agent filter does not apply to them."""
    departments = Department.objects.filter(reseller=scope.reseller)
    if scope.department_id:
        departments = departments.filter(pk=scope.department_id)
    # By department alone (each one is the tenant's): with the reseller in the filter too, SQLite picks the
    # tenant's queue index and reads every waiting ticket's row.
    waiting = Ticket.objects.in_state(UIState.ESPERA)
    if scope.connection_id:
        waiting = waiting.filter(connection_id=scope.connection_id)
    counts = {pk: waiting.filter(department_id=pk).count() for pk in departments.values_list("pk", flat=True)}
    return {pk: n for pk, n in counts.items() if n}


def build(scope: Scope, *, exact: bool | None = None) -> Report:
    """The report: exact from the tickets for a small range, else from the rollups (exact=True/False forces)."""
    if exact:
        return build_exact(scope)
    found = rollup_figures.cells(scope)
    if exact is None and rollup_figures.volume(found) <= EXACT_MAX:
        return build_exact(scope)
    return rollup_figures.build(scope, found, _waiting(scope))


def build_exact(scope: Scope) -> Report:
    cells = _cells(scope)
    total = _Cell()
    for cell in cells.values():
        total.add(cell)
    grid = _opened_grid(scope)
    waiting = _waiting(scope)
    in_range = scope.tickets().filter(claimed_at__gte=scope.start, claimed_at__lt=scope.end)
    claimed = _grouped_counts(in_range, "agent_id")
    return Report(
        scope=scope,
        opened=total.opened,
        closed=total.closed,
        waiting=sum(waiting.values()),
        first_response=percentiles(scope.opened(), "first_response_seconds", count=total.responded),
        resolution=percentiles(scope.closed(), "resolution_seconds", count=total.resolved),
        ratings=total.rated,
        rating_avg=total.rating_avg,
        ratings_asked=total.asked,
        rating_distribution={score: total.ratings.get(score, 0) for score in range(1, 6)},
        per_day=_per_day(scope, grid),
        per_hour=_per_hour(grid),
        departments=_rows(scope, "department_id", _by(cells, 0), waiting, department_labels),
        agents=_rows(scope, "agent_id", _by(cells, 1), claimed, agent_labels),
    )
