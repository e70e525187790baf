"""Gap recovery: store the messages that never reached the webhook while a number was offline, on the
connections whose adapter `recovers_gaps` (Evolution).

A run (RecoveryRun) is requested by whatsapp.health when a connection is back to `open` after
`close`, or by an admin for a chosen period, and executed by the outbox worker (`send_outbox --loop`
calls `recovery_pass`), never inside a webhook request. A run asks the adapter's `find_messages`
(Evolution: the gateway's `POST chat/findMessages/{instance}`) for everything since its `since`, page
by page (at most WHATSAPP_RECOVERY_MAX_PAGES), parses each record with the webhook's own parser and
hands it, oldest first, to the webhook's own routing (whatsapp.inbound.message_ingest): groups are ignored, `fromMe`
echoes never open a ticket, and a message already stored (by its webhook, or by another run) is a
duplicate through the unique provider id. Two runs at once therefore store each message once.

A run is a job of the durable queue (iaze.lib.jobs, declared as whatsapp.queues.RECOVERIES): claimed
with one conditional update, `running` while leased, retried after 1 then 2 minutes, failed after
MAX_ATTEMPTS. The worker runs several at once, at most its share for one connection (iaze.lib.workers):
one gateway paging through a long gap never holds back another tenant's recovery.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.conf import settings

from iaze.lib import clock
from iaze.lib.workers import Runner, group_share
from providers import ParsedMessage, SendError, capabilities, get_provider
from whatsapp.inbound import message_ingest
from whatsapp.models import Connection, RecoveryRun
from whatsapp.queues import MAX_ATTEMPTS as MAX_ATTEMPTS
from whatsapp.queues import RECOVERIES

log = logging.getLogger(__name__)


def recovery_run_claim(run_id, *, now: datetime | None = None) -> datetime | None:
    """Take one due run with a conditional update. Returns the lease end, or None when not ours."""
    now = now or clock.now()
    return RECOVERIES.claim(run_id, now=now, started_at=now)


def _fetch(connection: Connection, run: RecoveryRun) -> tuple[list[ParsedMessage], int, int, bool]:
    """(messages in the window, unparsed records, pages read, truncated) — paging bounded by MAX_PAGES."""
    since = int(run.since.timestamp())
    size = settings.WHATSAPP_RECOVERY_PAGE_SIZE
    limit = settings.WHATSAPP_RECOVERY_MAX_PAGES
    messages: list[ParsedMessage] = []
    unparsed = 0
    adapter = get_provider(connection)
    for number in range(1, limit + 1):
        page = adapter.find_messages(since=since, page=number, page_size=size)
        messages.extend(page.messages)
        unparsed += page.unparsed
        if page.records == 0 or number >= page.pages:
            return messages, unparsed, number, False
    return messages, unparsed, limit, True


def _in_window(run: RecoveryRun, parsed: ParsedMessage) -> bool:
    at = parsed.message.timestamp
    if at is None:
        return True
    return at >= run.since and (run.until is None or at <= run.until)


def recovery_run_execute(run: RecoveryRun, lease: datetime) -> dict[str, int]:
    """Fetch, then store oldest first through the webhook's routing. Records the outcome on the run."""
    connection = Connection.objects.get(pk=run.connection_id)
    counts = {"found": 0, "stored": 0, "duplicates": 0, "ignored": 0}
    if not capabilities(connection).recovers_gaps:
        RECOVERIES.fail(
            run.pk,
            lease,
            text="only Evolution API connections can be recovered (Meta retries its webhooks itself)",
            finished_at=clock.now(),
        )
        return counts
    try:
        fetched, unparsed, pages, truncated = _fetch(connection, run)
    except Exception as exc:  # any failure is recorded on the run
        if not isinstance(exc, SendError):
            log.exception("recovery %s: fetching failed", run.pk)
        return _failed(run, lease, exc)
    seen: set[str] = set()
    wanted: list[tuple[int, ParsedMessage]] = []
    for index, parsed in enumerate(fetched):
        pid = parsed.message.provider_message_id
        if pid in seen or not _in_window(run, parsed):
            continue  # the gateway repeated it across pages, or it is outside the chosen period
        seen.add(pid)
        wanted.append((index, parsed))
    # Oldest first, as the webhooks would have arrived; the gateway's own order breaks ties.
    wanted.sort(key=lambda item: (item[1].message.timestamp is None, item[1].message.timestamp or 0, item[0]))
    counts["found"] = len(wanted) + unparsed
    counts["ignored"] = unparsed
    error = ""
    for _index, parsed in wanted:
        try:
            outcome = message_ingest(connection=connection, parsed=parsed)
        except Exception as exc:  # one bad record must not stop the others
            log.exception("recovery %s: message %s failed", run.pk, parsed.message.provider_message_id)
            error = f"{parsed.message.provider_message_id}: {exc}"[:500]
            counts["ignored"] += 1
            continue
        if outcome == "stored":
            counts["stored"] += 1
        elif outcome == "duplicate":
            counts["duplicates"] += 1
        else:
            counts["ignored"] += 1
    if truncated:
        error = (f"stopped after {pages} pages (WHATSAPP_RECOVERY_MAX_PAGES); " + error).strip("; ")
    RECOVERIES.succeed(run.pk, lease, pages=pages, error=error, finished_at=clock.now(), **counts)
    log.info("recovery %s on connection %s: %s pages, %s", run.pk, connection.pk, pages, counts)
    return counts


def _failed(run: RecoveryRun, lease: datetime, exc: Exception) -> dict[str, int]:
    text = (exc.text if isinstance(exc, SendError) else str(exc)) or type(exc).__name__
    code = exc.code if isinstance(exc, SendError) else type(exc).__name__
    # `run` was read after its claim: its attempts already count this one.
    retry = not RECOVERIES.exhausted(run.attempts) and (not isinstance(exc, SendError) or exc.retryable)
    error = f"{code}: {text}"[:2000]
    if retry:
        RECOVERIES.retry(run.pk, lease, attempts=run.attempts, text=error, finished_at=None)
    else:
        RECOVERIES.fail(run.pk, lease, text=error, next_attempt_at=None, finished_at=clock.now())
    log.warning("recovery %s failed (%s: %s)%s", run.pk, code, text, "; will retry" if retry else "")
    return {"failed": 1}


def recovery_run_now(run: RecoveryRun, *, now: datetime | None = None) -> dict[str, int] | None:
    """Claim and execute one run; None when another worker has it (or it is not due)."""
    lease = recovery_run_claim(run.pk, now=now)
    if lease is None:
        return None
    return recovery_run_execute(RecoveryRun.objects.get(pk=run.pk), lease)


def _run_counted(run_id, *, now: datetime | None = None) -> dict[str, int] | None:
    """recovery_run_now for a runner: by id, and counted as one of the pass's runs."""
    lease = recovery_run_claim(run_id, now=now)
    if lease is None:
        return None
    return {**recovery_run_execute(RecoveryRun.objects.get(pk=run_id), lease), "runs": 1}


def recovery_runner(*, stopping=None) -> Runner:
    """The worker's threads for recoveries: WHATSAPP_JOB_WORKERS, at most WHATSAPP_JOB_PER_CONNECTION for one
    connection and WHATSAPP_JOB_PER_TENANT (default: half the threads) for one tenant."""
    threads = int(getattr(settings, "WHATSAPP_JOB_WORKERS", 4))
    return Runner(
        threads=threads,
        per_tenant=int(getattr(settings, "WHATSAPP_JOB_PER_CONNECTION", 1)),
        per_group=group_share(threads, getattr(settings, "WHATSAPP_JOB_PER_TENANT", 0)),
        name="recovery",
        stopping=stopping or (lambda: False),
    )


def recovery_pass(*, now: datetime | None = None, limit: int = 10, runner: Runner | None = None) -> dict[str, int]:
    """The worker's pass over the due runs, oldest first, connections taking turns. Totals of what they did.

    With the worker's `runner`: starts what its limits allow and returns what finished since the last pass,
    never waiting on a gateway. Without: runs every due run and waits for them."""
    work = partial(_run_counted, now=now)
    if runner is None:
        return recovery_runner().run_all(RECOVERIES.due(now=now, limit=limit), work)
    jobs = RECOVERIES.due(
        now=now,
        limit=limit,
        per_tenant=runner.share,
        per_group=runner.group_share,
        exclude=runner.running(),
        skip_tenants=runner.full_tenants(),
        skip_groups=runner.full_groups(),
    )
    runner.submit(jobs, work)
    return runner.take_counts()
