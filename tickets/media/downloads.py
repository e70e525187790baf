"""The download job of each media message (MediaDownload): enqueued when the message is stored, leased like the
outbox (tickets.outbox): one conditional update claims it, the HTTP calls happen outside any transaction (in
whatsapp.media_fetch), and a lease left by a dead worker simply expires. Every state change is one conditional
write whose row count is checked.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction

from iaze.lib import clock
from tickets.media.store import MEDIA_KINDS, file_type_stored
from tickets.models import MediaDownload, MediaFile, Message
from tickets.queues import DOWNLOADS

log = logging.getLogger(__name__)


def download_enqueue(message: Message, *, source_event_id: Any = None) -> MediaDownload | None:
    """Record the download job of a media message, once (the message is unique on the job)."""
    if message.kind not in MEDIA_KINDS or message.media_file_id:
        return None
    try:
        with transaction.atomic():
            return DOWNLOADS.enqueue(
                message=message, connection_id=message.connection_id, source_event_id=source_event_id
            )
    except IntegrityError:
        return MediaDownload.objects.filter(message=message).first()


def download_ensure(*, connection: Any, provider_message_id: str, source_event_id: Any = None) -> None:
    """A replayed event heals a message stored without its job (a crash between the two writes)."""
    message = Message.objects.by_provider_id(connection, provider_message_id).first()
    if (
        message is not None
        and message.kind in MEDIA_KINDS
        and not message.media_file_id
        and not MediaDownload.objects.filter(message=message).exists()
    ):
        download_enqueue(message, source_event_id=source_event_id)


def backoff_seconds(attempts: int) -> int:
    return DOWNLOADS.backoff.seconds(attempts)


def download_claim(job_id: Any, *, ignore_backoff: bool = False):
    """Take the lease on one pending download. Returns the lease end, or None when someone else has it."""
    return DOWNLOADS.claim(job_id, ignore_backoff=ignore_backoff)


def _touch_message(message_id: Any) -> None:
    # The thread's version stamp reads updated_at: the conversation page refreshes by itself.
    Message.objects.filter(pk=message_id).update(updated_at=clock.now())


def download_succeeded(job: MediaDownload, lease, media_file: MediaFile, *, claimed_mime: str | None = None) -> bool:
    """Link the file to its message, with the type this message's own claim gives it (`claimed_mime`, the
    provider's answer; else the webhook's), then close the job. Both writes are idempotent, in this order."""
    now = clock.now()
    if not claimed_mime:
        media = Message.objects.filter(pk=job.message_id).values_list("media", flat=True).first()
        claimed_mime = (media or {}).get("mime_type", "")
    file_type = file_type_stored(media_file, claimed_mime)
    Message.objects.filter(pk=job.message_id, media_file__isnull=True).update(
        media_file=media_file, file_type=file_type, updated_at=now
    )
    return DOWNLOADS.succeed(job.pk, lease, stored_at=now)


def download_failed(job: MediaDownload, lease, *, code: str, text: str, retryable: bool) -> str:
    """A failed attempt: retried with backoff while attempts remain, else failed for good. Returns retry|failed."""
    if retryable and not DOWNLOADS.exhausted(job.attempts):
        DOWNLOADS.retry(job.pk, lease, attempts=job.attempts, code=code, text=text)
        log.warning("media download %s: %s (%s), next try in %ss", job.pk, code, text, backoff_seconds(job.attempts))
        return "retry"
    if DOWNLOADS.fail(job.pk, lease, code=code, text=text):
        _touch_message(job.message_id)
    log.warning("media download %s failed for good: %s %s", job.pk, code, text)
    return "failed"


def download_retry(job_id: Any) -> bool:
    """An admin's "try again": a failed download becomes pending, with a fresh count of attempts."""
    moved = DOWNLOADS.requeue(job_id)
    if moved:
        message_id = MediaDownload.objects.filter(pk=job_id).values_list("message_id", flat=True).first()
        _touch_message(message_id)
    return moved


def downloads_retry_failed(*, connection_id: Any = None) -> int:
    """Every failed download (of one connection, when given) becomes pending again. Returns how many moved.

    Each job moves through download_retry, its own checked conditional write: a job someone else
    re-queued meanwhile is simply not counted."""
    failed = MediaDownload.objects.filter(state=MediaDownload.State.FAILED)
    if connection_id is not None:
        failed = failed.filter(message__connection_id=connection_id)
    return sum(download_retry(job_id) for job_id in list(failed.order_by("created_at").values_list("pk", flat=True)))
