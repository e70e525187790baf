"""The ticket domain's durable job queues (iaze.lib.jobs): outbound messages, media downloads and scheduled
messages.

Declarations only: which rows are jobs, their stored statuses, tenant, lease and backoff. The writers are
tickets.outbox (delivery), tickets.media.downloads (downloads) and tickets.services.outreach (scheduled messages);
the worker is `send_outbox --loop`.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from iaze.lib.jobs import Backoff, Queue
from tickets.models import MediaDownload, Message, ScheduledMessage


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
    group_field="reseller_id",  # the connection's tenant: a reseller's connections share its part of the workers
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
    group_field="reseller_id",  # the connection's tenant: a reseller's connections share its part of the workers
    lease=download_lease,
    backoff=Backoff(base=5, cap=600),
    max_attempts=download_max_attempts,
    label="media download",
)

# A scheduled message's attempt only writes to the database (the ticket, the outbox message): its send is the
# outbox's own job. A crash or a database hiccup is retried after 5 s, 10 s… at most a minute, five times.
SCHEDULED_MAX_ATTEMPTS = 5

SCHEDULED = Queue(
    model=ScheduledMessage,
    status_field="state",
    ready=ScheduledMessage.State.AGENDADA,
    running=ScheduledMessage.State.ENVIANDO,  # claimed: no longer cancellable
    successful=ScheduledMessage.State.ENVIADA,
    failed=ScheduledMessage.State.FALHOU,
    tenant_field="connection_id",
    lease=timedelta(minutes=2),
    backoff=Backoff(base=5, cap=60),
    max_attempts=SCHEDULED_MAX_ATTEMPTS,
    code_field=None,
    text_field="reason",
    order="not_before",  # the send time: the earliest due first
    label="scheduled message",
)
