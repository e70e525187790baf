"""The worker side of media downloads: claim a job, ask the connection's provider for the file, keep it.

Run by `send_outbox --loop` (and `download_media` for one pass), never inside a webhook request.
The job's life (lease, retries, final failure) is written by tickets.media.downloads over the durable job queue
tickets.queues.DOWNLOADS; this module only adds what the channel knows: the provider adapter and the
journal, where Evolution's base64 travels. Several files are fetched at once, at most the worker's
share for one connection (iaze.lib.workers): a slow file server holds only its own tenant's downloads.
"""

from __future__ import annotations

import json
import logging
import traceback
from functools import partial

from django.conf import settings
from django.utils.translation import gettext

from iaze.lib import blobs
from iaze.lib.workers import Runner, group_share
from providers import SendError, get_provider
from tickets.media import downloads as media_downloads
from tickets.media import store as media
from tickets.models import MediaDownload
from tickets.queues import DOWNLOADS
from whatsapp.journal import webhook_event_body
from whatsapp.models import Connection, WebhookEvent

log = logging.getLogger(__name__)


def _inline_base64(job: MediaDownload, provider, message) -> str | None:
    """The file carried by the webhook body itself (Evolution's `message.base64`), read from the journal."""
    if not job.source_event_id or not (message.media or {}).get("inline_base64"):
        return None
    event = WebhookEvent.objects.filter(pk=job.source_event_id).first()
    if event is None:
        return None
    try:
        payload = json.loads(webhook_event_body(event))
    except (OSError, ValueError):
        log.warning("media download %s: journal event %s unreadable", job.pk, event.pk, exc_info=True)
        return None
    return provider.event_media_base64(payload, message.provider_message_id)


def media_download_run(job_id, *, ignore_backoff: bool = False) -> str:
    """Claim, fetch and store one file. Returns stored, retry, failed or skipped."""
    lease = media_downloads.download_claim(job_id, ignore_backoff=ignore_backoff)
    if lease is None:
        return "skipped"
    job = MediaDownload.objects.select_related("message").get(pk=job_id)
    message = job.message
    try:
        connection = Connection.objects.get(pk=message.connection_id)
        provider = get_provider(connection)
        got = provider.download_media(
            media=message.media or {},
            provider_message_id=message.provider_message_id,
            inline_base64=_inline_base64(job, provider, message),
            max_bytes=blobs.max_bytes(),
        )
        claimed = got.mime_type or (message.media or {}).get("mime_type", "")
        # Kept as a file of the connection's tenant; the type is this message's own (download_succeeded).
        stored = media.media_file_store(got.content, reseller_id=connection.reseller_id, claimed_mime=claimed)
    except SendError as exc:
        return media_downloads.download_failed(job, lease, code=exc.code, text=exc.text, retryable=exc.retryable)
    except blobs.MediaTooLarge:
        text = gettext("O arquivo passa do limite de %(mb)s MB.") % {"mb": f"{blobs.max_bytes() / 1024 / 1024:g}"}
        return media_downloads.download_failed(job, lease, code="too_large", text=text, retryable=False)
    except Exception as exc:
        log.exception("media download %s: unexpected error", job_id)
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:500]
        return media_downloads.download_failed(job, lease, code="error", text=text, retryable=True)
    media_downloads.download_succeeded(job, lease, stored, claimed_mime=claimed)
    return "stored"


def media_runner(*, stopping=None) -> Runner:
    """The worker's threads for downloads: WHATSAPP_JOB_WORKERS, at most WHATSAPP_JOB_PER_CONNECTION for one
    connection and WHATSAPP_JOB_PER_TENANT (default: half the threads) for one tenant."""
    threads = int(getattr(settings, "WHATSAPP_JOB_WORKERS", 4))
    return Runner(
        threads=threads,
        per_tenant=int(getattr(settings, "WHATSAPP_JOB_PER_CONNECTION", 1)),
        per_group=group_share(threads, getattr(settings, "WHATSAPP_JOB_PER_TENANT", 0)),
        outcomes=("stored", "retry", "failed", "skipped"),
        error_outcome="retry",
        name="media",
        stopping=stopping or (lambda: False),
    )


def media_downloads_run(
    *, ignore_backoff: bool = False, limit: int | None = 100, runner: Runner | None = None
) -> dict[str, int]:
    """One pass over the due downloads, connections taking turns. Safe in several processes at once (each job
    is leased).

    With the worker's `runner`: starts what its limits allow and returns what finished since the last pass,
    never waiting on a provider. Without: fetches every due file and waits for them."""
    work = partial(media_download_run, ignore_backoff=ignore_backoff)
    if runner is None:
        return media_runner().run_all(DOWNLOADS.due(limit=limit, ignore_backoff=ignore_backoff), work)
    jobs = DOWNLOADS.due(
        limit=limit,
        per_tenant=runner.share,
        per_group=runner.group_share,
        ignore_backoff=ignore_backoff,
        exclude=runner.running(),
        skip_tenants=runner.full_tenants(),
        skip_groups=runner.full_groups(),
    )
    runner.submit(jobs, work)
    return runner.take_counts()
