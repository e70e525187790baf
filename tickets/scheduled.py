"""The worker side of scheduled messages: each due one (its `send_at` passed) gets one attempt,
tickets.services.scheduled_send, on threads of its own runner (iaze.lib.workers).

Run by `send_outbox --loop` as a side job (every pass: within a second or two of `send_at`) and by the one-pass
`send_outbox` before it sends the outbox; never inside a web request. Safe in several processes at once:
each job is claimed with one conditional write (tickets.queues.SCHEDULED), so it is sent once.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.conf import settings

from iaze.lib.workers import Runner
from tickets.queues import SCHEDULED
from tickets.services import scheduled_send

OUTCOMES = ("sent", "failed", "retry", "skipped")


def scheduled_runner(*, stopping=None) -> Runner:
    """WHATSAPP_JOB_WORKERS threads, at most WHATSAPP_JOB_PER_CONNECTION for one connection (an attempt only
    writes to the database: the send itself is the outbox's)."""
    return Runner(
        threads=int(getattr(settings, "WHATSAPP_JOB_WORKERS", 4)),
        per_tenant=int(getattr(settings, "WHATSAPP_JOB_PER_CONNECTION", 1)),
        outcomes=OUTCOMES,
        error_outcome="retry",
        name="scheduled",
        stopping=stopping or (lambda: False),
    )


def scheduled_pass(
    *, limit: int | None = 100, runner: Runner | None = None, now: datetime | None = None
) -> dict[str, int]:
    """One pass over the due scheduled messages, connections taking turns.

    With the worker's `runner`: starts what its limits allow and returns what finished since the last pass.
    Without: runs every due one and waits for them. `now`: the moment due-ness is judged by (a test's)."""
    work = partial(scheduled_send, now=now)
    if runner is None:
        return scheduled_runner().run_all(SCHEDULED.due(now=now, limit=limit), work)
    jobs = SCHEDULED.due(
        now=now,
        limit=limit,
        per_tenant=runner.share,
        exclude=runner.running(),
        skip_tenants=runner.full_tenants(),
    )
    runner.submit(jobs, work)
    return runner.take_counts()
