"""The ticket domain's durable job queues (iaze.lib.jobs): outbound messages and media downloads.

Declarations only: which rows are jobs, their stored statuses, tenant, lease and backoff. The writers are
tickets.outbox (delivery) and tickets.media (downloads); the worker is `send_outbox --loop`.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from iaze.lib.jobs import Backoff, Queue

from .models import MediaDownload, Message


def _http_timeout() -> float:
    return float(getattr(settings, "WHATSAPP_HTTP_TIMEOUT", 15.0))


def outbox_lease() -> timedelta:
    # Longer than any HTTP call can take, so a live sender never loses its claim mid-call.
    return timedelta(seconds=2 * _http_timeout() + 30)


def download_lease() -> timedelta:
    # Longer than a metadata call, a download and a retry with a fresh URL can take.
    return timedelta(seconds=4 * _http_timeout() + 60)


def download_max_attempts() -> int:
    return int(getattr(settings, "MEDIA_DOWNLOAD_MAX_ATTEMPTS", 6))


# Retries: 5 s, doubling, at most 10 min, for as long as it takes (a reply is never given up for a timeout).
OUTBOX = Queue(
    model=Message,
    status_field="delivery_status",
    ready=Message.Delivery.QUEUED,
    successful=Message.Delivery.SENT,
    failed=Message.Delivery.FAILED,
    # Only OUT, and only until the provider's id is recorded: internal notes and client messages are never
    # selected, never sent.
    scope=Q(direction=Message.Direction.OUT, provider_message_id=""),
    # A connection belongs to one tenant; it is also the unit a slow provider holds up.
    tenant_field="connection_id",
    lease=outbox_lease,
    backoff=Backoff(base=5, cap=600),
    label="message",
)

DOWNLOADS = Queue(
    model=MediaDownload,
    status_field="state",
    ready=MediaDownload.State.PENDING,
    successful=MediaDownload.State.STORED,
    failed=MediaDownload.State.FAILED,
    tenant_field="connection_id",
    lease=download_lease,
    backoff=Backoff(base=5, cap=600),
    max_attempts=download_max_attempts,
    label="media download",
)
