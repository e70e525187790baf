"""The threads that run claimed jobs (iaze.lib.jobs): at most `threads` at once, at most `per_tenant` of them
for one tenant (a connection), at most `per_group` for one group (the reseller owning the connections), and a
stop that never waits past its bound.

A slow provider holds only its own share: tenant A's file is never stuck behind two of B's slow downloads,
however many connections B has. A job already running is never taken back, so the group's share is what
keeps threads free: with `per_group` below `threads`, a reseller whose gateway hangs holds at most
`per_group` threads and every other reseller finds the rest. The lease (Queue.claim) still guarantees that no
job runs twice, whatever this module does.

One daemon thread per job, not a ThreadPoolExecutor: the interpreter joins an executor's threads at exit
without any bound, so one call hanging on a provider kept a stopped worker alive (the deploy tests' worker
still running 60 s after SIGTERM). Here `close(timeout)` waits for the jobs in flight as long as the caller
allows, and a job still running after that is simply left: its lease runs out and the next worker takes
the job. A thread per job costs nothing next to the provider call it makes.

With `threads == 1` jobs run one after the other in the caller's thread (the tests' setting: threads would
not see a test's uncommitted rows), checking `stopping` before each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connections

from iaze.lib.jobs import Job

log = logging.getLogger(__name__)

Outcome = str | dict[str, int] | None  # one outcome ("sent"), counts to add ({"stored": 3}), or nothing


def group_share(threads: int, configured: int | None) -> int:
    """A group's share of `threads`: the configured number, or (0 / unset) half of them, at least one."""
    return max(1, int(configured or 0) or int(threads) // 2)


class Runner:
    def __init__(
        self,
        *,
        threads: int,
        per_tenant: int,
        per_group: int | None = None,
        outcomes: Iterable[str] = (),
        error_outcome: str = "error",
        name: str = "job",
        stopping: Callable[[], bool] = lambda: False,
    ):
        self.threads = max(1, int(threads))
        self.per_tenant = max(1, int(per_tenant))
        self.per_group = None if per_group is None else max(1, int(per_group))
        self.name, self.error_outcome, self.stopping = name, error_outcome, stopping
        self._outcomes = tuple(outcomes)
        self.counts: dict[str, int] = dict.fromkeys(self._outcomes, 0)
        # One lock for all of it: the owner submits and collects, job threads hand in results, and at a stop
        # the main thread closes a runner whose owner may still be alive.
        self._lock = threading.Condition()
        self._inflight: dict[Any, tuple[Any, Any]] = {}  # job pk → (its tenant, its group)
        self._finished: list[tuple[Any, Outcome]] = []

    # --- what is running ---------------------------------------------------------------------------

    def busy(self, tenant: Any) -> int:
        with self._lock:
            return sum(1 for t, _g in self._inflight.values() if t == tenant)

    def busy_group(self, group: Any) -> int:
        with self._lock:
            return sum(1 for _t, g in self._inflight.values() if g is not None and g == group)

    def running(self) -> list[Any]:
        with self._lock:
            return list(self._inflight)

    @property
    def share(self) -> int | None:
        """How many jobs of one tenant a pass should hand over (Queue.due's per_tenant): the tenant's share of
        the threads; no bound when jobs run one after the other, where the pass's order is the fairness."""
        return self.per_tenant if self.threads > 1 else None

    @property
    def group_share(self) -> int | None:
        """Queue.due's per_group: a group's share of the threads (no bound when jobs run one after the other)."""
        return self.per_group if self.threads > 1 else None

    def full_tenants(self) -> list[Any]:
        """Tenants running their whole share: a due() for this runner skips them."""
        with self._lock:
            tenants = [t for t, _g in self._inflight.values()]
        return [t for t in set(tenants) if tenants.count(t) >= self.per_tenant]

    def full_groups(self) -> list[Any]:
        """Groups running their whole share: a due() for this runner skips them."""
        if self.per_group is None:
            return []
        with self._lock:
            groups = [g for _t, g in self._inflight.values() if g is not None]
        return [g for g in set(groups) if groups.count(g) >= self.per_group]

    def _room(self, job: Job) -> bool:
        """Whether the limits let this job start now (called under the lock)."""
        if len(self._inflight) >= self.threads:
            return False
        if sum(1 for t, _g in self._inflight.values() if t == job.tenant) >= self.per_tenant:
            return False
        if self.per_group is None or job.group is None:
            return True
        return sum(1 for _t, g in self._inflight.values() if g == job.group) < self.per_group

    # --- starting ----------------------------------------------------------------------------------

    def submit(self, jobs: Iterable[Job], work: Callable[[Any], Outcome]) -> list[Job]:
        """Start what the limits allow (without waiting for anything); returns the jobs left for later."""
        self.collect()
        jobs = list(jobs)
        if self.threads == 1:
            for index, job in enumerate(jobs):
                if self.stopping():
                    return jobs[index:]
                self._count(self._call(work, job.pk))
            return []
        left = []
        for job in jobs:
            with self._lock:
                if job.pk in self._inflight:
                    continue
                if self.stopping() or not self._room(job):
                    left.append(job)
                    continue
                self._inflight[job.pk] = (job.tenant, job.group)
            thread = threading.Thread(target=self._run, args=(work, job.pk), name=f"{self.name}-{job.pk}", daemon=True)
            thread.start()
        return left

    def run_all(self, jobs: Iterable[Job], work: Callable[[Any], Outcome]) -> dict[str, int]:
        """One pass: every job, under the limits, waiting for all of them. Returns the counts."""
        left = list(jobs)
        try:
            while left and not self.stopping():
                left = self.submit(left, work)
                if left:
                    self.wait_one()
        finally:
            self.close()
        return self.take_counts()

    def _call(self, work: Callable[[Any], Outcome], pk: Any) -> Outcome:
        try:
            return work(pk)
        except Exception:
            log.exception("%s %s: failed", self.name, pk)
            return self.error_outcome

    def _run(self, work: Callable[[Any], Outcome], pk: Any) -> None:
        outcome: Outcome = self.error_outcome
        try:
            outcome = self._call(work, pk)
        finally:
            connections.close_all()  # this thread's own connections, never left open after its job
            with self._lock:
                self._finished.append((pk, outcome))
                self._lock.notify_all()

    # --- finishing ---------------------------------------------------------------------------------

    def collect(self) -> None:
        """Count the jobs that finished since the last look."""
        with self._lock:
            finished, self._finished = self._finished, []
            for pk, outcome in finished:
                self._inflight.pop(pk, None)
                self._count(outcome)

    def _count(self, outcome: Outcome) -> None:
        with self._lock:
            if isinstance(outcome, str):
                self.counts[outcome] = self.counts.get(outcome, 0) + 1
            elif isinstance(outcome, dict):
                for key, value in outcome.items():
                    self.counts[key] = self.counts.get(key, 0) + value

    def wait_one(self, timeout: float | None = None) -> bool:
        """Wait until a job in flight finishes, at most `timeout` seconds. True when one did."""
        with self._lock:
            if not self._inflight and not self._finished:
                return False
            done = self._lock.wait_for(lambda: bool(self._finished), timeout)
        self.collect()
        return done

    def take_counts(self) -> dict[str, int]:
        self.collect()
        with self._lock:
            counts, self.counts = self.counts, dict.fromkeys(self._outcomes, 0)
        return counts

    def close(self, timeout: float | None = None) -> list[Any]:
        """Wait for the jobs in flight, at most `timeout` seconds (None: as long as they take). Returns the
        jobs still running then: they keep their leases, which run out and hand them to the next worker."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.collect()
            with self._lock:
                if not self._inflight:
                    return []
                if deadline is not None and time.monotonic() >= deadline:
                    return list(self._inflight)
            self.wait_one(None if deadline is None else max(0.0, deadline - time.monotonic()))
