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
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from iaze.lib import clock

from .inbound import message_ingest
from .models import Connection, RecoveryRun
from .providers import ParsedMessage, SendError, capabilities, get_provider

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(seconds=60)
LEASE = timedelta(minutes=30)


def _due(now: datetime):
    pending = Q(state=RecoveryRun.State.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    abandoned = Q(state=RecoveryRun.State.RUNNING) & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    return RecoveryRun.objects.filter(pending | abandoned)


def recovery_run_claim(run_id, *, now: datetime | None = None) -> datetime | None:
    """Take one due run with a conditional update. Returns the lease end, or None when not ours."""
    now = now or clock.now()
    lease = now + LEASE
    won = (
        _due(now)
        .filter(pk=run_id)
        .update(
            state=RecoveryRun.State.RUNNING,
            lease_until=lease,
            started_at=now,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    return lease if won == 1 else None


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
    mine = RecoveryRun.objects.filter(pk=run.pk, state=RecoveryRun.State.RUNNING, lease_until=lease)
    connection = Connection.objects.get(pk=run.connection_id)
    counts = {"found": 0, "stored": 0, "duplicates": 0, "ignored": 0}
    if not capabilities(connection).recovers_gaps:
        mine.update(
            state=RecoveryRun.State.FAILED,
            error="only Evolution API connections can be recovered (Meta retries its webhooks itself)",
            finished_at=clock.now(),
            lease_until=None,
        )
        return counts
    try:
        fetched, unparsed, pages, truncated = _fetch(connection, run)
    except Exception as exc:  # any failure is recorded on the run
        if not isinstance(exc, SendError):
            log.exception("recovery %s: fetching failed", run.pk)
        return _failed(mine, run, exc)
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
    mine.update(
        state=RecoveryRun.State.DONE,
        pages=pages,
        error=error,
        finished_at=clock.now(),
        lease_until=None,
        updated_at=clock.now(),
        **counts,
    )
    log.info("recovery %s on connection %s: %s pages, %s", run.pk, connection.pk, pages, counts)
    return counts


def _failed(mine, run: RecoveryRun, exc: Exception) -> dict[str, int]:
    text = (exc.text if isinstance(exc, SendError) else str(exc)) or type(exc).__name__
    code = exc.code if isinstance(exc, SendError) else type(exc).__name__
    # `run` was read after its claim: its attempts already count this one.
    retry = run.attempts < MAX_ATTEMPTS and (not isinstance(exc, SendError) or exc.retryable)
    now = clock.now()
    mine.update(
        state=RecoveryRun.State.PENDING if retry else RecoveryRun.State.FAILED,
        next_attempt_at=now + RETRY_AFTER * run.attempts if retry else None,
        error=f"{code}: {text}"[:2000],
        finished_at=None if retry else now,
        lease_until=None,
        updated_at=now,
    )
    log.warning("recovery %s failed (%s: %s)%s", run.pk, code, text, "; will retry" if retry else "")
    return {"failed": 1}


def recovery_run_now(run: RecoveryRun, *, now: datetime | None = None) -> dict[str, int] | None:
    """Claim and execute one run; None when another worker has it (or it is not due)."""
    lease = recovery_run_claim(run.pk, now=now)
    if lease is None:
        return None
    return recovery_run_execute(RecoveryRun.objects.get(pk=run.pk), lease)


def recovery_pass(*, now: datetime | None = None, limit: int = 10) -> dict[str, int]:
    """The worker's pass: execute the due runs, oldest first. Totals of what they did."""
    totals: dict[str, int] = {}
    for run in _due(now or clock.now()).order_by("created_at")[:limit]:
        counts = recovery_run_now(run, now=now)
        for key, value in (counts or {}).items():
            totals[key] = totals.get(key, 0) + value
        if counts is not None:
            totals["runs"] = totals.get("runs", 0) + 1
    return totals
