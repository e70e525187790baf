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

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q

from iaze.lib import blobs, clock
from providers import get_provider
from whatsapp.inbound import parsed_ingest
from whatsapp.models import Connection, WebhookEvent

log = logging.getLogger(__name__)

# A pending event this old was left by a request that died mid-processing (or is waiting for
# the message its receipt names); the outbox worker processes it again, a bounded number of times.
STALE_AFTER = timedelta(seconds=60)
MAX_AUTO_ATTEMPTS = 5

KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Hub-Signature-256", "X-Forwarded-For")


BODY_PREFIX = "webhooks"


def webhook_event_store(
    *,
    connection: Connection,
    raw_body: bytes,
    headers=None,
    event_type: str = "",
    spooled: tuple[str, str, int] | None = None,
) -> tuple[WebhookEvent, bool]:
    """Durably journal one authenticated body. Returns (event, created); a repeat returns the first copy.

    `spooled` (temporary path, sha256, size): the body as the webhook streamed it to disk. Above
    WHATSAPP_WEBHOOK_INLINE_BODY_BYTES it is moved into the media storage (named by its SHA-256)
    before the row that references it is written, and the row keeps only that reference."""
    dedup_key = spooled[1] if spooled else hashlib.sha256(raw_body).hexdigest()
    size = spooled[2] if spooled else len(raw_body)
    kept = {h: headers[h] for h in KEPT_HEADERS if headers and headers.get(h)}
    stored: dict = {"body": raw_body}
    if size > inline_body_limit():
        if spooled:
            blob = blobs.blob_put_temp(*spooled, prefix=BODY_PREFIX)
        else:
            blob = blobs.blob_put(blobs.chunks_of(raw_body), prefix=BODY_PREFIX)
        stored = {"body": b"", "body_file": blob.name, "body_sha256": blob.sha256, "body_size": blob.size}
    elif spooled:
        blobs.discard_temp(spooled[0])
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                connection=connection,
                dedup_key=dedup_key,
                event_type=event_type[:64],
                headers=kept,
                received_at=clock.now(),
                **stored,
            )
        return event, True
    except IntegrityError:
        return WebhookEvent.objects.get(connection=connection, dedup_key=dedup_key), False


def inline_body_limit() -> int:
    return int(getattr(settings, "WHATSAPP_WEBHOOK_INLINE_BODY_BYTES", 1024 * 1024))


def webhook_event_body(event: WebhookEvent) -> bytes:
    """The raw body as received: from the row, or from its file (checked against the recorded SHA-256)."""
    if not event.body_file:
        return bytes(event.body or b"")
    raw = blobs.blob_read(event.body_file)
    if hashlib.sha256(raw).hexdigest() != event.body_sha256:
        raise ValueError(f"webhook body file {event.body_file} does not match its SHA-256")
    return raw


def recorded_body_files():
    """(storage name, sha256) of every webhook body kept as a file: backed up and verified with the media."""
    yield from (
        WebhookEvent.objects.filter(body_file__gt="").order_by("received_at").values_list("body_file", "body_sha256")
    )


def webhook_event_process(event: WebhookEvent, connection: Connection | None = None, *, payload=None) -> str:
    """Parse and apply one journal event. Never raises for a bad event: the failure is recorded on it.

    `payload`: the body already parsed by the webhook (a large body is not parsed twice)."""
    if connection is None or connection.pk != event.connection_id:
        connection = Connection.objects.get(pk=event.connection_id)
    try:
        if payload is None:
            payload = json.loads(webhook_event_body(event))
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
        counts = parsed_ingest(connection=connection, result=result, source_event_id=event.pk)
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


def webhook_events_replay(events, *, stopping=None) -> dict[str, int]:
    """Process each event again (idempotent); counts of the states they ended in. `stopping`: the worker's
    stop, checked between events (an event not reached stays pending for the next pass)."""
    counts: dict[str, int] = {}
    for event in events:
        if stopping is not None and stopping():
            break
        state = webhook_event_process(event)
        counts[state] = counts.get(state, 0) + 1
    return counts


def webhook_events_replay_due(*, now=None, stopping=None) -> dict:
    return webhook_events_replay(webhook_events_due(now=now), stopping=stopping)


def webhook_events_to_replay(*, failed: bool = False, everything: bool = False):
    qs = WebhookEvent.objects.order_by("received_at")
    if everything:
        return qs
    states = [WebhookEvent.State.PENDING] + ([WebhookEvent.State.FAILED] if failed else [])
    return qs.filter(state__in=states)
