"""The report's figures, computed in the database with a bounded number of queries.

Every figure reads `Ticket` rows of one tenant only (`Scope.reseller`), through the report indexes
(reseller, created_at) and (reseller, closed_at); nothing loads all tickets into memory. The
durations are stored on the ticket in whole seconds by the services (`first_response_seconds` when
the first agent reply is queued, `resolution_seconds` at Finalizar), so a percentile is one count
and one sorted query that reads a single row at an offset (nearest-rank method). Counts per day and
hour are GROUP BY queries on local fields; medians per department and agent are one offset query per
department or agent, bounded by the tenant's size, never by its number of tickets.

Only plain aggregates, `annotate` on local fields and `values_list` of local fields are used, so the
same code runs on SQLite, PostgreSQL and MongoDB (no raw SQL, no `values()` across relations).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Avg, Count, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate

from accounts.models import Department, Reseller, ResellerConfig, User
from tickets.models import Ticket, UIState

DEFAULT_TIMEZONE = "America/Sao_Paulo"
PERCENTILES = (50, 90)


def reseller_timezone(reseller: Reseller) -> ZoneInfo:
    name = ResellerConfig.objects.filter(reseller=reseller).values_list("timezone", flat=True).first()
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


@dataclass(frozen=True)
class Scope:
    """One tenant, a range of whole local days [first_day, last_day], and optional filters."""

    reseller: Reseller
    tz: ZoneInfo
    first_day: date
    last_day: date
    department_id: Any = None
    agent_id: Any = None
    connection_id: Any = None

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after the last day, in the tenant's time zone."""
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=self.tz)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]

    def tickets(self, *, with_agent: bool = True) -> Any:  # a TicketQuerySet (in_state)
        qs = Ticket.objects.filter(reseller=self.reseller)
        if self.department_id:
            qs = qs.filter(department_id=self.department_id)
        if self.connection_id:
            qs = qs.filter(connection_id=self.connection_id)
        if with_agent and self.agent_id:
            qs = qs.filter(agent_id=self.agent_id)
        return qs

    def opened(self) -> QuerySet[Ticket]:
        return self.tickets().filter(created_at__gte=self.start, created_at__lt=self.end)

    def closed(self) -> QuerySet[Ticket]:
        return self.tickets().filter(status=Ticket.Status.CLOSED, closed_at__gte=self.start, closed_at__lt=self.end)


@dataclass
class Durations:
    """Median and 90th percentile (nearest rank) of a duration in seconds, over `count` tickets."""

    count: int = 0
    p50: int | None = None
    p90: int | None = None


def nearest_rank(p: int, n: int) -> int:
    """The 0-based offset of the p-th percentile among n sorted values (nearest-rank method)."""
    return max(0, math.ceil(p * n / 100) - 1)


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
    return {row[key]: row["n"] for row in qs.values(key).annotate(n=Count("pk")).order_by()}


@dataclass
class Row:
    """One department or agent line of the report."""

    key: Any
    label: str
    opened: int = 0
    claimed: int = 0
    closed: int = 0
    waiting: int = 0
    first_response: Durations = field(default_factory=Durations)
    resolution: Durations = field(default_factory=Durations)
    rating_avg: float | None = None
    ratings: int = 0


@dataclass
class Report:
    scope: Scope
    opened: int
    closed: int
    waiting: int
    first_response: Durations
    resolution: Durations
    ratings: int
    rating_avg: float | None
    ratings_asked: int
    rating_distribution: dict[int, int]
    per_day: list[tuple[date, int, int]]  # (day, opened, closed)
    per_hour: dict[tuple[int, int], int]  # (ISO weekday 1–7, hour 0–23) → opened
    departments: list[Row]
    agents: list[Row]


def _rating_stats(qs: QuerySet[Ticket]) -> tuple[int, float | None]:
    agg = qs.filter(rating__isnull=False).aggregate(n=Count("pk"), avg=Avg("rating"))
    return agg["n"] or 0, (round(float(agg["avg"]), 2) if agg["avg"] is not None else None)


def _per_day(scope: Scope) -> list[tuple[date, int, int]]:
    opened = _grouped_counts(scope.opened().annotate(day=TruncDate("created_at", tzinfo=scope.tz)), "day")
    closed = _grouped_counts(scope.closed().annotate(day=TruncDate("closed_at", tzinfo=scope.tz)), "day")
    return [(day, opened.get(day, 0), closed.get(day, 0)) for day in scope.days]


def _per_hour(scope: Scope) -> dict[tuple[int, int], int]:
    rows = (
        scope.opened()
        .annotate(wd=ExtractIsoWeekDay("created_at", tzinfo=scope.tz), h=ExtractHour("created_at", tzinfo=scope.tz))
        .values("wd", "h")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(row["wd"], row["h"]): row["n"] for row in rows}


def _rows(scope: Scope, key: str, label_for: Callable[[set], dict[Any, str]]) -> list[Row]:
    """Per department (key department_id) or per agent (key agent_id)."""
    opened_qs, closed_qs = scope.opened(), scope.closed()
    opened = _grouped_counts(opened_qs, key)
    closed = _grouped_counts(closed_qs, key)
    responded = _grouped_counts(opened_qs.filter(first_response_seconds__isnull=False), key)
    resolved = _grouped_counts(closed_qs.filter(resolution_seconds__isnull=False), key)
    rated = {
        row[key]: (row["n"], row["avg"])
        for row in closed_qs.filter(rating__isnull=False)
        .values(key)
        .annotate(n=Count("pk"), avg=Avg("rating"))
        .order_by()
    }
    claimed: dict[Any, int] = {}
    waiting: dict[Any, int] = {}
    if key == "agent_id":
        in_range = scope.tickets().filter(claimed_at__gte=scope.start, claimed_at__lt=scope.end)
        claimed = _grouped_counts(in_range, key)
    else:
        waiting = _grouped_counts(scope.tickets(with_agent=False).in_state(UIState.ESPERA), key)
    keys = [k for k in {*opened, *closed, *claimed, *waiting} if k is not None]
    labels = label_for(set(keys))
    rows = []
    for k in keys:
        n, avg = rated.get(k, (0, None))
        rows.append(
            Row(
                key=k,
                label=labels.get(k, "—"),
                opened=opened.get(k, 0),
                claimed=claimed.get(k, 0),
                closed=closed.get(k, 0),
                waiting=waiting.get(k, 0),
                first_response=percentiles(
                    opened_qs.filter(**{key: k}), "first_response_seconds", count=responded.get(k, 0)
                ),
                resolution=percentiles(closed_qs.filter(**{key: k}), "resolution_seconds", count=resolved.get(k, 0)),
                ratings=n,
                rating_avg=round(float(avg), 2) if avg is not None else None,
            )
        )
    rows.sort(key=lambda r: (-r.opened - r.closed, r.label))
    return rows


def department_labels(ids: set) -> dict[Any, str]:
    return dict(Department.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def agent_labels(ids: set) -> dict[Any, str]:
    """Names of the agents that appear (an installation admin who answered a ticket included)."""
    users = User.objects.filter(pk__in=ids).values_list("pk", "name", "email") if ids else []
    return {pk: name or email for pk, name, email in users}


def build(scope: Scope) -> Report:
    opened_qs, closed_qs = scope.opened(), scope.closed()
    ratings, rating_avg = _rating_stats(closed_qs)
    distribution = _grouped_counts(closed_qs.filter(rating__isnull=False), "rating")
    return Report(
        scope=scope,
        opened=opened_qs.count(),
        closed=closed_qs.count(),
        # Tickets in Espera have no agent: the agent filter does not apply to them.
        waiting=scope.tickets(with_agent=False).in_state(UIState.ESPERA).count(),
        first_response=percentiles(opened_qs, "first_response_seconds"),
        resolution=percentiles(closed_qs, "resolution_seconds"),
        ratings=ratings,
        rating_avg=rating_avg,
        ratings_asked=closed_qs.filter(rating_asked_at__isnull=False).count(),
        rating_distribution={score: distribution.get(score, 0) for score in range(1, 6)},
        per_day=_per_day(scope),
        per_hour=_per_hour(scope),
        departments=_rows(scope, "department_id", department_labels),
        agents=_rows(scope, "agent_id", agent_labels),
    )
