"""What the report is made of: its scope (tenant, local days, filters), durations, rows and the report
itself, shared by the two paths that compute it (reports.figures, exact; reports.rollup_figures)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from accounts.models import Department, Reseller, User
from tickets.models import Ticket
from tickets.rules import localtime

DEFAULT_TIMEZONE = localtime.DEFAULT_TIMEZONE
PERCENTILES = (50, 90)


def reseller_timezone(reseller: Reseller) -> ZoneInfo:
    return localtime.tenant_timezone(reseller.pk)


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
        """Opened on one of the days, by the local day stamped at opening (tickets.rules.localtime)."""
        return self.tickets().filter(opened_local_date__gte=self.first_day, opened_local_date__lte=self.last_day)

    def closed(self) -> QuerySet[Ticket]:
        """Closed on one of the days. Only ticket_close stamps closed_local_date, with status closed in the
        same write, and a closed ticket never reopens: the status need not be read (the index answers)."""
        return self.tickets().filter(closed_local_date__gte=self.first_day, closed_local_date__lte=self.last_day)

    def opened_at(self) -> QuerySet[Ticket]:
        """Opened between the first day's local midnight and the last day's end, by created_at (exports)."""
        return self.tickets().filter(created_at__gte=self.start, created_at__lt=self.end)


@dataclass
class Durations:
    """Median and 90th percentile (nearest rank) of a duration in seconds, over `count` tickets."""

    count: int = 0
    p50: int | None = None
    p90: int | None = None


def nearest_rank(p: int, n: int) -> int:
    """The 0-based offset of the p-th percentile among n sorted values (nearest-rank method)."""
    return max(0, math.ceil(p * n / 100) - 1)


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


def department_labels(ids: set) -> dict[Any, str]:
    if not ids:
        return {}
    return {pk: d.name for pk, d in Department.objects.only("id", "name").in_bulk(list(ids)).items()}


def agent_labels(ids: set) -> dict[Any, str]:
    """Names of the agents that appear (an installation admin who answered a ticket included)."""
    if not ids:
        return {}
    users = User.objects.only("id", "name", "email").in_bulk(list(ids))
    return {pk: u.name or u.email for pk, u in users.items()}
