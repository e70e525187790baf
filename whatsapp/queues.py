"""The channel's durable job queue (iaze.lib.jobs): gap recoveries.

Declared apart from whatsapp.recovery (the runner) so that whatsapp.health, which requests runs from a
webhook, enqueues without importing the recovery and, through it, the webhook's routing.
"""

from __future__ import annotations

from datetime import timedelta

from iaze.lib.jobs import Backoff, Queue
from whatsapp.models import RecoveryRun

MAX_ATTEMPTS = 3
# A failed run is tried again after 1, then 2 minutes (then it is Falhou: MAX_ATTEMPTS).
RETRY_AFTER = timedelta(seconds=60)
LEASE = timedelta(minutes=30)

RECOVERIES = Queue(
    model=RecoveryRun,
    status_field="state",
    ready=RecoveryRun.State.PENDING,
    running=RecoveryRun.State.RUNNING,  # shown in the admin while a worker pages through the gateway
    successful=RecoveryRun.State.DONE,
    failed=RecoveryRun.State.FAILED,
    tenant_field="connection_id",
    group_field="reseller_id",  # the connection's tenant: a reseller's connections share its part of the workers
    lease=LEASE,
    backoff=Backoff(base=int(RETRY_AFTER.total_seconds()), cap=3600),
    max_attempts=MAX_ATTEMPTS,
    code_field=None,  # a run keeps one `error` text, "<code>: <reason>"
    text_field="error",
    label="recovery",
)
