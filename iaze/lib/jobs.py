"""One durable job queue: the lease, attempts, backoff and "not before" of every background job, written once.

A job is a row of a project model (an outbound message, a media download, a gap recovery…) with
- a status field whose stored values stay the model's own (they are shown and are a contract); the
  queue maps them onto django.tasks' statuses: READY (waiting), RUNNING (leased), SUCCESSFUL, FAILED;
- `lease_until`: set by the claim, the only mark that a worker holds the job; a worker that dies
  simply lets it run out, and the job is due again;
- `attempts`: counted by the claim itself, so a crash mid-call still counts;
- `next_attempt_at`: the retry backoff, which a one-pass command may ignore ("try everything now");
- `not_before`: when the job may first run (a scheduled message). Kept apart from the backoff because
  it is never ignored: a scheduled job never runs early, whoever asks.

The shape follows Django's tasks API (django.tasks in 6.0, the django-tasks backport): enqueue(),
claim, the four statuses, `run_after` as `not_before`. Not the package itself: its database backend
claims with select_for_update(skip_locked=True), a no-op on MongoDB, and its models would be one more
schema on three profiles. So every state change here is ONE conditional write whose row count is
checked (house rule): the claim is an update filtered on "still due", exactly one caller wins it, and
every later write is filtered on the lease the claim set (`mine`), so a worker whose lease ran out and
was taken over writes nothing.

Fairness, on two levels. A job's `tenant` is a field of its row (the connection: the unit a slow provider
holds up); its `group` is who owns that tenant (the reseller owning the connection), read by key from the
tenant's own row (`group_field`), one read per pass, never a join, which MongoDB serves badly
(docs/mongodb.md). `due()` reads the oldest due jobs and deals them out group by group (each group's
oldest, then each one's second…) and, within a group, connection by connection; at most `per_tenant` of
one connection and `per_group` of one group, skipping the connections and groups the caller already runs
at their share. When one backlog fills a read, the next read leaves the connections seen so far out, so a
connection with one job is found behind another's ten thousand. The threads that run the jobs, at most a
share of them for one connection and one group, are iaze.lib.workers.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from iaze.lib import clock

log = logging.getLogger(__name__)


def job_fields() -> tuple[
    models.PositiveIntegerField, models.DateTimeField, models.DateTimeField, models.DateTimeField
]:
    """A job model's four fields, in this order: `attempts, next_attempt_at, not_before, lease_until =
    job_fields()` in the model's body. A function rather than an abstract model so that each model's
    fields keep their place (an abstract parent's fields come first) and its migrations stay unchanged."""
    return (
        models.PositiveIntegerField(default=0, verbose_name=_("tentativas")),
        models.DateTimeField(null=True, blank=True, verbose_name=_("próxima tentativa")),
        models.DateTimeField(null=True, blank=True, verbose_name=_("não antes de")),
        models.DateTimeField(null=True, blank=True, verbose_name=_("reservado até")),
    )


class Status(StrEnum):
    """django.tasks' TaskResultStatus names, for any job whatever its model stores."""

    READY = "READY"
    RUNNING = "RUNNING"
    SUCCESSFUL = "SUCCESSFUL"
    FAILED = "FAILED"


class Job(NamedTuple):
    pk: Any
    tenant: Any  # the connection (a field of the row)
    group: Any = None  # who owns the tenant (the reseller); None when the queue declares no groups


@dataclass(frozen=True)
class Backoff:
    """Seconds before attempt n+1: base, doubling, never more than cap."""

    base: int
    cap: int

    def seconds(self, attempts: int) -> int:
        return min(self.cap, self.base * 2 ** max(0, attempts - 1))


def fair_order(
    rows: Iterable[Sequence[Any]],
    *,
    per_tenant: int | None = None,
    per_group: int | None = None,
    limit: int | None = None,
) -> list:
    """(pk, tenant[, group]) rows, oldest first, dealt out in turns: every group's oldest, then every group's
    second…; within a group, its tenants take turns the same way. A row without a group is a group of its own
    tenant.

    At most `per_tenant` rows of one tenant, `per_group` of one group and `limit` in all: one tenant's
    backlog never sits in front of everybody else's next job, nor one group's many tenants."""
    groups: dict[Any, dict[Any, list]] = {}
    for row in rows:
        group = row[2] if len(row) > 2 and row[2] is not None else (_OWN, row[1])
        lane = groups.setdefault(group, {}).setdefault(row[1], [])
        if per_tenant is None or len(lane) < per_tenant:
            lane.append(row)
    dealt = []
    for group, lanes in groups.items():
        turns = _turns(lanes.values())
        grouped = not (isinstance(group, tuple) and group[:1] == (_OWN,))
        dealt.append(turns[:per_group] if grouped and per_group is not None else turns)
    ordered = _turns(dealt)
    return ordered if limit is None else ordered[:limit]


_OWN = object()  # the group of a row that names none: its tenant alone


def _turns(lanes: Iterable[list]) -> list:
    return [row for turn in itertools.zip_longest(*lanes) for row in turn if row is not None]


@dataclass(frozen=True)
class Queue:
    """The job life of one model: which rows are due, the claim, and the writes that end an attempt."""

    model: type[models.Model]
    status_field: str
    ready: str  # the stored value of a job waiting to run
    successful: str
    failed: str
    tenant_field: str  # a field of the row (e.g. "connection_id"): the unit of fairness
    lease: timedelta | Callable[[], timedelta]  # longer than an attempt can take
    backoff: Backoff
    # A field of the tenant's own row (the model tenant_field points to) naming its group (e.g. the
    # connection's "reseller_id"): the second level of fairness. None: every tenant is a group of its own.
    group_field: str | None = None
    running: str | None = None  # a value the row holds while leased; None: a leased ready row is running
    scope: Q = field(default_factory=Q)  # which rows of the model are jobs of this queue at all
    max_attempts: int | Callable[[], int] | None = None  # None: retried for as long as it takes
    code_field: str | None = "error_code"
    text_field: str | None = "error_text"
    lease_field: str = "lease_until"
    attempts_field: str = "attempts"
    backoff_field: str = "next_attempt_at"
    not_before_field: str = "not_before"
    order: str = "created_at"
    label: str = "job"

    @property
    def objects(self) -> models.QuerySet:
        return self.model._default_manager.all()

    def lease_length(self) -> timedelta:
        return self.lease() if callable(self.lease) else self.lease

    def exhausted(self, attempts: int) -> bool:
        """No attempt left after `attempts` (the count the claim wrote)."""
        limit = self.max_attempts() if callable(self.max_attempts) else self.max_attempts
        return limit is not None and attempts >= limit

    # --- reading --------------------------------------------------------------------------------

    def pending(self, now: datetime, *, ignore_backoff: bool = False) -> models.QuerySet:
        """The jobs a claim at `now` may take: waiting (or running with a lease run out), not leased,
        `not_before` passed and, unless ignore_backoff, the retry time passed. `not_before` is never ignored."""
        waiting = [self.ready] + ([self.running] if self.running else [])
        status = {self.status_field: waiting[0]} if len(waiting) == 1 else {f"{self.status_field}__in": waiting}
        lease, start, retry = self.lease_field, self.not_before_field, self.backoff_field
        qs = self.objects.filter(self.scope, **status)
        qs = qs.filter(Q(**{f"{lease}__isnull": True}) | Q(**{f"{lease}__lt": now}))
        qs = qs.filter(Q(**{f"{start}__isnull": True}) | Q(**{f"{start}__lte": now}))
        if not ignore_backoff:
            qs = qs.filter(Q(**{f"{retry}__isnull": True}) | Q(**{f"{retry}__lte": now}))
        return qs

    def due(
        self,
        *,
        now: datetime | None = None,
        limit: int | None = 100,
        per_tenant: int | None = None,
        per_group: int | None = None,
        ignore_backoff: bool = False,
        exclude: Iterable[Any] = (),
        skip_tenants: Iterable[Any] = (),
        skip_groups: Iterable[Any] = (),
    ) -> list[Job]:
        """At most `limit` due jobs, oldest first, groups and their tenants taking turns (fair_order).
        `exclude`: jobs the caller runs already; `skip_tenants` / `skip_groups`: tenants and groups the caller
        runs at their share.

        Reads `limit` rows at a time; while a read comes back full, the next one leaves out the tenants seen
        so far (one read in the usual case; one more per tenant whose backlog fills a read, at most `limit`).
        Each read's new tenants have their groups read by key, and skip_groups their tenants (one read each,
        none without group_field)."""
        qs = self.pending(now or clock.now(), ignore_backoff=ignore_backoff)
        exclude = list(exclude)
        if exclude:
            qs = qs.exclude(pk__in=exclude)
        rows: list[tuple[Any, Any, Any]] = []
        # A full group's tenants are left out of the reads (one read by key for them), like full tenants.
        seen = set(skip_tenants) | set(self.tenants_of(skip_groups))
        owners: dict[Any, Any] = {}
        while True:
            batch = qs
            if seen - {None}:
                batch = batch.exclude(**{f"{self.tenant_field}__in": list(seen - {None})})
            if None in seen:
                batch = batch.exclude(**{f"{self.tenant_field}__isnull": True})
            read = list(batch.order_by(self.order, "pk").values_list("pk", self.tenant_field)[:limit])
            new = {tenant for _pk, tenant in read} - seen
            seen |= new
            owners.update(self.groups_of(new))
            rows.extend((pk, tenant, owners.get(tenant)) for pk, tenant in read)
            if limit is None or len(read) < limit or not new or len({row[1] for row in rows}) >= limit:
                break
        ordered = fair_order(rows, per_tenant=per_tenant, per_group=per_group, limit=limit)
        return [Job(*row) for row in ordered]

    def tenants_of(self, groups: Iterable[Any]) -> list[Any]:
        """The tenants of these groups (one read by key; none without group_field or groups)."""
        keys = [group for group in groups if group is not None]
        if not self.group_field or not keys:
            return []
        related: Any = self.model._meta.get_field(self.tenant_field).related_model
        return list(related._base_manager.filter(**{f"{self.group_field}__in": keys}).values_list("pk", flat=True))

    def groups_of(self, tenants: Collection[Any]) -> dict[Any, Any]:
        """Each tenant's group, read by key from the tenants' own rows in one read; {} without group_field."""
        keys = [tenant for tenant in tenants if tenant is not None]
        if not self.group_field or not keys:
            return {}
        related: Any = self.model._meta.get_field(self.tenant_field).related_model
        return dict(related._base_manager.filter(pk__in=keys).values_list("pk", self.group_field))

    def status(self, pk: Any, *, now: datetime | None = None) -> Status | None:
        """The job's status in django.tasks' words; None when there is no such job."""
        row = self.objects.filter(pk=pk).values_list(self.status_field, self.lease_field).first()
        if row is None:
            return None
        value, lease = row
        if value == self.failed:
            return Status.FAILED
        if value in (self.ready, self.running):
            return Status.RUNNING if lease is not None and lease >= (now or clock.now()) else Status.READY
        return Status.SUCCESSFUL

    # --- writing ----------------------------------------------------------------------------------

    def enqueue(self, *, not_before: datetime | None = None, **fields: Any) -> Any:
        """Create a job, due now (or from `not_before` on): django.tasks' Task.enqueue(). A unique key of the
        model makes it idempotent; the caller handles its IntegrityError."""
        start = {
            self.status_field: self.ready,
            self.backoff_field: clock.now(),
            self.not_before_field: clock.to_ms(not_before),  # as every profile stores it
        }
        return self.model._default_manager.create(**{**start, **fields})

    def claim(self, pk: Any, *, now: datetime | None = None, ignore_backoff: bool = False, **fields: Any):
        """Take the lease on one due job: one conditional update, so of any number of callers exactly one wins.
        It counts the attempt. Returns the lease end (what every later write of this attempt is filtered
        on), or None when the job was not due or someone else has it."""
        now = now or clock.now()
        lease = clock.to_ms(now + self.lease_length())  # compared for equality later: as stored
        changes: dict[str, Any] = {
            self.lease_field: lease,
            self.attempts_field: F(self.attempts_field) + 1,
            "updated_at": clock.now(),
        }
        if self.running:
            changes[self.status_field] = self.running
        won = self.pending(now, ignore_backoff=ignore_backoff).filter(pk=pk).update(**{**changes, **fields})
        return lease if won == 1 else None

    def mine(self, pk: Any, lease: datetime) -> models.QuerySet:
        """The job, only while this lease holds it: every write after the claim goes through here."""
        status = self.running or self.ready
        return self.objects.filter(pk=pk, **{self.status_field: status, self.lease_field: lease})

    def succeed(self, pk: Any, lease: datetime, **fields: Any) -> bool:
        """The attempt worked: the job is done (the error of an earlier attempt cleared unless given)."""
        changes = {self.status_field: self.successful, **self._error("", ""), **fields}
        return self._end(pk, lease, changes, "succeed")

    def retry(
        self,
        pk: Any,
        lease: datetime,
        *,
        attempts: int,
        code: str | None = None,
        text: str | None = None,
        now: datetime | None = None,
        **fields: Any,
    ) -> bool:
        """The attempt failed and may be tried again after the backoff of `attempts`. A code or text of None
        leaves the stored error as it is."""
        wait = timedelta(seconds=self.backoff.seconds(attempts))
        changes = {
            self.status_field: self.ready,
            self.backoff_field: (now or clock.now()) + wait,
            **self._error(code, text),
            **fields,
        }
        return self._end(pk, lease, changes, "retry")

    def fail(self, pk: Any, lease: datetime, *, code: str | None = None, text: str | None = None, **fields) -> bool:
        """The attempt failed for good: the job stays, FAILED, with its reason (nothing is deleted)."""
        changes = {self.status_field: self.failed, **self._error(code, text), **fields}
        return self._end(pk, lease, changes, "fail")

    def release(self, pk: Any, lease: datetime, *, wait: timedelta = timedelta(0)) -> bool:
        """Give a claimed job back untried (it must wait for another job first): its attempt is not counted,
        and it is due again after `wait`."""
        changes = {
            self.status_field: self.ready,
            self.attempts_field: F(self.attempts_field) - 1,
            self.backoff_field: clock.now() + wait,
        }
        return self._end(pk, lease, changes, "release")

    def requeue(self, pk: Any, **fields: Any) -> bool:
        """A failed job back in the queue (someone's "try again"): attempts counted from zero, due now.
        `not_before` is kept. True for the one caller whose write moved it."""
        now = clock.now()
        changes = {
            self.status_field: self.ready,
            self.attempts_field: 0,
            self.backoff_field: now,
            self.lease_field: None,
            "updated_at": now,
            **fields,
        }
        return self.objects.filter(pk=pk, **{self.status_field: self.failed}).update(**changes) == 1

    def _error(self, code: str | None, text: str | None) -> dict[str, str]:
        out = {}
        if self.code_field and code is not None:
            out[self.code_field] = code[: self._max_length(self.code_field)]
        if self.text_field and text is not None:
            out[self.text_field] = text[: self._max_length(self.text_field)]
        return out

    def _max_length(self, name: str) -> int | None:
        return getattr(self.model._meta.get_field(name), "max_length", None)

    def _end(self, pk: Any, lease: datetime, changes: dict[str, Any], what: str) -> bool:
        written = self.mine(pk, lease).update(**{self.lease_field: None, "updated_at": clock.now(), **changes}) == 1
        if not written:
            # The lease ran out mid-attempt and another worker took the job: its outcome is the one kept.
            log.warning("%s %s: %s not written, the lease was no longer ours", self.label, pk, what)
        return written
