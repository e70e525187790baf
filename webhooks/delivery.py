"""Delivering webhook events: a durable job each (iaze.lib.jobs), sent by the worker's threads (iaze.lib.workers).

A delivery is `POST <url>` with the event's JSON, signed with the webhook's secret (X-IAZE-Signature:
sha256=<hex HMAC-SHA256 of the raw body>). The body is built from the stored event only, keys sorted, so
every attempt of an event sends the same bytes. Outbound HTTP goes through iaze.lib.outbound: public
addresses only (checked on the address connected to), no redirect followed (a 3xx is a failure), one total
deadline (WEBHOOK_TIMEOUT_SECONDS, 10 s) that a receiver dripping bytes cannot stretch, the answer read up
to a cap.

- any answer but 2xx, or none within the deadline: retried with backoff (30 s, doubling, at most an hour),
  for as long as the webhook lives, so well past 24 hours;
- in order per ticket: an event waits while an earlier event of its ticket (same webhook) is pending, and a
  failed event pushes its ticket's later events back to its own retry time;
- a webhook whose deliveries have failed for WEBHOOK_PAUSE_AFTER_HOURS with none succeeding is paused (the
  reason is shown in the admin); its events are kept and go out when it is turned on again;
- the worker is never blocked: each delivery runs on a runner thread with its deadline, at most
  WEBHOOK_PER_WEBHOOK of one webhook at once, so a slow receiver holds only its own share.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from functools import partial
from typing import Any

import requests
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from iaze.lib import clock, outbound
from iaze.lib.jobs import Backoff, Queue
from iaze.lib.workers import Runner, group_share
from providers.url_guard import UnsafeURL, check_given_url
from tickets.reads.shapes import iso
from webhooks.models import Webhook, WebhookDelivery
from webhooks.recorder import record_pass

log = logging.getLogger(__name__)

S = WebhookDelivery.Status
EVENTS = Queue(
    model=WebhookDelivery,
    status_field="status",
    ready=S.PENDING,
    successful=S.DELIVERED,
    failed=S.FAILED,
    tenant_field="webhook_id",
    group_field="reseller_id",
    # Longer than an attempt can take (its deadline plus the connect), so a lease never runs out mid-call.
    lease=lambda: timedelta(seconds=timeout_seconds() + 50),
    backoff=Backoff(base=30, cap=3600),
    max_attempts=None,
    label="webhook event",
)
OUTCOMES = ("delivered", "retry", "waiting", "held", "skipped")


def timeout_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10.0))


def pause_after() -> timedelta:
    return timedelta(hours=float(getattr(settings, "WEBHOOK_PAUSE_AFTER_HOURS", 72)))


def body_of(event: WebhookDelivery) -> bytes:
    """The delivery's raw body: the same bytes for every attempt of the event."""
    payload = {"id": str(event.pk), "type": event.type, "created_at": iso(event.occurred_at), "data": event.data}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _Failed(Exception):
    def __init__(self, code: str, text: str, status: int | None = None):
        super().__init__(text)
        self.code, self.text, self.status = code, text, status


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """The HTTP status of the receiver's answer, or _Failed. Never follows a redirect."""
    try:
        check_given_url(url)
    except UnsafeURL as exc:
        raise _Failed("unsafe_url", exc.text) from None
    limit = timeout_seconds()
    watch = outbound.Watch(limit)
    cap = int(getattr(settings, "WEBHOOK_ANSWER_MAX_BYTES", 64 * 1024))
    try:
        with watch:
            response = outbound.session().post(
                url, data=body, headers=headers, timeout=(min(5.0, limit), limit), allow_redirects=False, stream=True
            )
            outbound.read_capped(response, cap)
    except outbound.AddressRefused:
        text = _("A URL aponta para um endereço interno ou reservado; ela não é permitida.")
        raise _Failed("unsafe_url", text) from None
    except (outbound.AnswerTooLarge, outbound.AnswerUnreadable):
        return response.status_code  # the status line arrived: what it says decides, not the body
    except requests.Timeout:
        raise _Failed("timeout", _("Sem resposta em %(s)g s.") % {"s": limit}) from None
    except requests.RequestException:
        if watch.expired:
            raise _Failed("timeout", _("Sem resposta em %(s)g s.") % {"s": limit}) from None
        raise _Failed("connection", _("Não foi possível conectar ao endereço do webhook.")) from None
    if watch.expired:
        raise _Failed("timeout", _("Sem resposta em %(s)g s.") % {"s": limit})
    return response.status_code


def _earlier_pending(event: dict[str, Any]) -> bool:
    return WebhookDelivery.objects.filter(
        webhook_id=event["webhook_id"],
        ticket_id=event["ticket_id"],
        ticket_version__lt=event["ticket_version"],
        status=S.PENDING,
    ).exists()


def event_deliver(pk: Any, *, ignore_backoff: bool = False) -> str:
    """One attempt at one event: delivered, retry, waiting (an earlier event of its ticket is pending),
    held (its webhook is off or paused) or skipped (not due, or another worker has it)."""
    row = WebhookDelivery.objects.filter(pk=pk).values("webhook_id", "ticket_id", "ticket_version").first()
    if row is None:
        return "skipped"
    hook = Webhook.objects.filter(pk=row["webhook_id"]).first()
    if hook is None or not hook.active or hook.paused_at is not None:
        return "held"
    if _earlier_pending(row):
        return "waiting"
    lease = EVENTS.claim(pk, ignore_backoff=ignore_backoff)
    if lease is None:
        return "skipped"
    event = WebhookDelivery.objects.get(pk=pk)
    body = body_of(event)
    headers = {
        "Content-Type": "application/json",
        "X-IAZE-Event": event.type,
        "X-IAZE-Signature": signature(hook.secret, body),
    }
    started = time.monotonic()
    status: int | None = None
    try:
        status = _post(hook.url, body, headers)
        failure = None if 200 <= status < 300 else _Failed("http_status", _("Resposta HTTP %(n)d.") % {"n": status})
    except _Failed as exc:
        failure = exc
    now = clock.now()
    answered = {
        "last_status": status,
        "last_answer_ms": round((time.monotonic() - started) * 1000),
        "last_attempt_at": now,
    }
    if failure is None:
        EVENTS.succeed(pk, lease, delivered_at=now, **answered)
        # Each a conditional write: a slower delivery that finishes later never moves the stamp back, nor
        # clears a failure that began after its own success.
        newer = Q(last_success_at__isnull=True) | Q(last_success_at__lt=now)
        Webhook.objects.filter(newer, pk=hook.pk).update(last_success_at=now)
        Webhook.objects.filter(pk=hook.pk, failing_since__lte=now).update(failing_since=None)
        return "delivered"
    EVENTS.retry(pk, lease, attempts=event.attempts, code=failure.code, text=failure.text, now=now, **answered)
    _after_failure(hook, event, now)
    return "retry"


def _after_failure(hook: Webhook, event: WebhookDelivery, now) -> None:
    retry_at = WebhookDelivery.objects.filter(pk=event.pk).values_list("next_attempt_at", flat=True).first() or now
    # The ticket's later events wait for this one (order per ticket) instead of being read again and again.
    WebhookDelivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=retry_at),
        webhook_id=hook.pk,
        ticket_id=event.ticket_id,
        ticket_version__gt=event.ticket_version,
        status=S.PENDING,
    ).update(next_attempt_at=retry_at)
    Webhook.objects.filter(pk=hook.pk, failing_since__isnull=True).update(failing_since=now)
    since = now - pause_after()
    reason = _(
        "Pausado em %(at)s: as entregas falharam por mais de %(h)d horas (último erro: %(error)s). "
        "Os eventos estão guardados e serão entregues quando o webhook for ligado de novo."
    ) % {"at": iso(now), "h": round(pause_after().total_seconds() / 3600), "error": event.error_text or "?"}
    paused = Webhook.objects.filter(pk=hook.pk, paused_at__isnull=True, failing_since__lte=since).update(
        paused_at=now, pause_reason=reason[:300]
    )
    if paused:
        log.warning("webhook %s paused: failing since before %s", hook.pk, since)


def webhook_runner(*, threads: int | None = None, stopping=None) -> Runner:
    """WEBHOOK_WORKERS threads, at most WEBHOOK_PER_WEBHOOK for one webhook and half of them for one tenant."""
    count = int(threads if threads is not None else getattr(settings, "WEBHOOK_WORKERS", 4))
    return Runner(
        threads=count,
        per_tenant=int(getattr(settings, "WEBHOOK_PER_WEBHOOK", 2)),
        per_group=group_share(count, 0),
        outcomes=OUTCOMES,
        error_outcome="retry",
        name="webhook",
        stopping=stopping or (lambda: False),
    )


def held_webhooks() -> list[Any]:
    return list(Webhook.objects.filter(Q(active=False) | Q(paused_at__isnull=False)).values_list("pk", flat=True))


def deliveries_pass(*, runner: Runner | None = None, limit: int | None = 100, ignore_backoff: bool = False):
    """One pass over the due events. With the worker's `runner`: starts what its limits allow and returns what
    finished since the last pass, never waiting on a receiver. Without: delivers and waits (tests, bench)."""
    work = partial(event_deliver, ignore_backoff=ignore_backoff)
    own = runner is None
    runner = runner or webhook_runner(threads=1)
    jobs = EVENTS.due(
        limit=limit,
        per_tenant=runner.share,
        per_group=runner.group_share,
        ignore_backoff=ignore_backoff,
        exclude=runner.running(),
        skip_tenants=[*held_webhooks(), *runner.full_tenants()],
        skip_groups=runner.full_groups(),
    )
    if own:
        return runner.run_all(jobs, work)
    runner.submit(jobs, work)
    return runner.take_counts()


def webhooks_pass(*, runner: Runner | None = None, limit: int | None = 100, ignore_backoff: bool = False):
    """The worker's pass: record what changed, then deliver what is due."""
    counts = dict(record_pass())
    counts.update(deliveries_pass(runner=runner, limit=limit, ignore_backoff=ignore_backoff))
    return counts
