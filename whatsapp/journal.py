"""The raw webhook journal: store first, process after, replay whenever needed.

A body is stored before it is parsed, keyed by the sha256 of its bytes, so a
provider's retry of the same delivery is recognised instead of stored twice.
Processing reads only the stored bytes, which makes it replayable after a crash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import traceback
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q

from iaze.lib import clock

from .inbound import parsed_ingest
from .models import Connection, WebhookEvent
from .providers import get_provider

log = logging.getLogger(__name__)

# A pending event this old was left by a request that died mid-processing (or is waiting for
# the message its receipt names); the outbox worker processes it again, a bounded number of times.
STALE_AFTER = timedelta(seconds=60)
MAX_AUTO_ATTEMPTS = 5

KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Hub-Signature-256", "X-Forwarded-For")


def webhook_event_store(
    *, connection: Connection, raw_body: bytes, headers=None, event_type: str = ""
) -> tuple[WebhookEvent, bool]:
    """Durably journal one authenticated body. Returns (event, created); a repeat returns the first copy."""
    dedup_key = hashlib.sha256(raw_body).hexdigest()
    kept = {h: headers[h] for h in KEPT_HEADERS if headers and headers.get(h)}
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                connection=connection,
                dedup_key=dedup_key,
                event_type=event_type[:64],
                body=raw_body,
                headers=kept,
                received_at=clock.now(),
            )
        return event, True
    except IntegrityError:
        return WebhookEvent.objects.get(connection=connection, dedup_key=dedup_key), False


def webhook_event_process(event: WebhookEvent, connection: Connection | None = None) -> str:
    """Parse and apply one journal event. Never raises for a bad event: the failure is recorded on it."""
    if connection is None or connection.pk != event.connection_id:
        connection = Connection.objects.get(pk=event.connection_id)
    try:
        payload = json.loads(bytes(event.body))
        result = get_provider(connection).parse(payload)
        state = WebhookEvent.State.IGNORED if result.empty else WebhookEvent.State.PROCESSED
        counts = _ingest(connection, result, event, state)
    except Exception as exc:
        log.exception("webhook event %s failed", event.pk)
        _finish(
            event,
            WebhookEvent.State.FAILED,
            error="".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000],
        )
        return WebhookEvent.State.FAILED
    log.info("webhook event %s %s %s %s", event.pk, result.event_type, state, counts)
    return state


def _ingest(connection: Connection, result, event: WebhookEvent, state: str) -> dict:
    """Apply a parsed body and mark the event done, in one transaction when the database has them.

    The transaction is for speed only (one durable commit per event instead of one per row).
    Correctness rests on the unique keys and conditional updates, which is why the same
    idempotent work is simply run again without it if the transaction fails (for example a
    deadlock between two concurrent batches naming the same clients in another order).
    """

    def apply() -> dict:
        counts = parsed_ingest(connection=connection, result=result)
        note = "; ".join(result.skipped)
        final = state
        if counts.get("status_unknown") and event.attempts + 1 < MAX_AUTO_ATTEMPTS:
            final = WebhookEvent.State.PENDING  # the outbox worker will try it again
            note = f"{counts['status_unknown']} receipt(s) for messages not stored yet; {note}".strip("; ")
        _finish(event, final, error=note[:2000], event_type=result.event_type)
        return counts

    try:
        with transaction.atomic():
            return apply()
    except DatabaseError as exc:
        log.warning("webhook event %s: transactional ingest failed (%s); applying it step by step", event.pk, exc)
        return apply()


def _finish(event: WebhookEvent, state: str, *, error: str = "", event_type: str = "") -> None:
    changes = {
        "state": state,
        "error": error,
        "attempts": F("attempts") + 1,
        "processed_at": clock.now(),
        "updated_at": clock.now(),
    }
    if event_type:
        changes["event_type"] = event_type[:64]
    WebhookEvent.objects.filter(pk=event.pk).update(**changes)


def webhook_events_due(*, now=None, limit: int = 100):
    """Pending events nobody is working on any more, for the outbox worker's automatic pass."""
    cutoff = (now or clock.now()) - STALE_AFTER
    return (
        WebhookEvent.objects.filter(
            state=WebhookEvent.State.PENDING, received_at__lt=cutoff, attempts__lt=MAX_AUTO_ATTEMPTS
        )
        .filter(Q(processed_at__isnull=True) | Q(processed_at__lt=cutoff))
        .order_by("received_at")[:limit]
    )


def webhook_events_replay(events) -> dict[str, int]:
    """Process each event again (idempotent); counts of the states they ended in."""
    counts: dict[str, int] = {}
    for event in events:
        state = webhook_event_process(event)
        counts[state] = counts.get(state, 0) + 1
    return counts


def webhook_events_replay_due(*, now=None) -> dict:
    return webhook_events_replay(webhook_events_due(now=now))


def webhook_events_to_replay(*, failed: bool = False, everything: bool = False):
    qs = WebhookEvent.objects.order_by("received_at")
    if everything:
        return qs
    states = [WebhookEvent.State.PENDING] + ([WebhookEvent.State.FAILED] if failed else [])
    return qs.filter(state__in=states)
