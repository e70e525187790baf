"""Connection health: state changes, last webhook and send, the warnings supervisors see, recovery requests.

- A provider that reports its state (`reports_connection_state`; Evolution's `connection.update`:
  open, connecting, close) is judged by it. A `close` stamps `disconnected_at`; the next `open` clears
  it, and the one caller whose conditional update clears it requests a gap recovery when the provider
  `recovers_gaps` (whatsapp.recovery, run by the outbox worker, never in the webhook request).
- Any other (Meta retries failed webhooks itself): what can go wrong is silence. Every authenticated
  webhook stamps `last_webhook_at` (at most once a minute), and a connection that used to receive
  traffic and has been silent longer than WHATSAPP_SILENCE_WARNING_MINUTES is flagged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from iaze.lib import clock
from providers import ConnectionStateUpdate, capabilities
from tickets.models import Message
from tickets.rules import permissions
from whatsapp.models import Connection, RecoveryRun
from whatsapp.queues import RECOVERIES
from whatsapp.services import connection_state_ingest

log = logging.getLogger(__name__)

OPEN = "open"
CONNECTING = "connecting"
CLOSED = {"close", "closed", "disconnected", "refused"}
# Stamps of last webhook / send are written at most this often per connection.
STAMP_EVERY = timedelta(seconds=60)


# --- state changes -------------------------------------------------------------------------------


def connection_state_apply(*, connection: Connection, update: ConnectionStateUpdate) -> list[str]:
    """Store a reported state; a `close` marks the disconnection, the `open` after it requests a recovery.

    Returns the journal's count keys: "state_stored" or "state_stale", plus "recovery_requested".
    """
    if not connection_state_ingest(connection=connection, update=update):
        return ["state_stale"]
    state = update.state.strip().lower()
    at = clock.to_ms(update.timestamp) or clock.now()
    row = Connection.objects.filter(pk=connection.pk)
    if state in CLOSED:
        row.filter(disconnected_at__isnull=True).update(disconnected_at=at, updated_at=clock.now())
    elif state == OPEN:
        since_close = row.values_list("disconnected_at", flat=True).first()
        reopened = since_close is not None and row.filter(disconnected_at=since_close).update(
            disconnected_at=None, updated_at=clock.now()
        )
        if reopened and capabilities(connection).recovers_gaps:
            recovery_request(connection=connection, trigger=RecoveryRun.Trigger.RECONNECT, disconnected_at=since_close)
            return ["state_stored", "recovery_requested"]
    return ["state_stored"]


# --- recovery requests -----------------------------------------------------------------------------


def recovery_since(connection: Connection, *, disconnected_at: datetime | None = None, now=None) -> datetime:
    """Where a recovery starts: the last message stored for the connection minus an overlap margin,
    bounded by WHATSAPP_RECOVERY_MAX_LOOKBACK_HOURS; with nothing stored, the disconnection (minus the margin)."""
    now = now or clock.now()
    margin = timedelta(seconds=settings.WHATSAPP_RECOVERY_OVERLAP_SECONDS)
    floor = now - timedelta(hours=settings.WHATSAPP_RECOVERY_MAX_LOOKBACK_HOURS)
    last = (
        Message.objects.filter(connection=connection, direction=Message.Direction.IN)
        .order_by("-created_at")
        .values_list("provider_timestamp", "created_at")
        .first()
    )
    if last is not None:
        start = min(t for t in last if t is not None)
    else:
        start = disconnected_at or now
    return max(start - margin, floor)


def recovery_request(
    *,
    connection: Connection,
    trigger: str,
    since: datetime | None = None,
    until: datetime | None = None,
    by: Any = None,
    disconnected_at: datetime | None = None,
) -> RecoveryRun:
    """Record a pending recovery run (a job of whatsapp.queues.RECOVERIES); the outbox worker
    (send_outbox --loop) executes it."""
    run = RECOVERIES.enqueue(
        connection=connection,
        trigger=trigger,
        requested_by=by,
        since=since or recovery_since(connection, disconnected_at=disconnected_at),
        until=until,
    )
    log.info("connection %s: recovery %s requested since %s (%s)", connection.pk, run.pk, run.since, trigger)
    return run


# --- last webhook, last send -------------------------------------------------------------------------


def _stamp(connection_id, field: str, at: datetime) -> bool:
    stale = Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": at - STAMP_EVERY})
    return Connection.objects.filter(pk=connection_id).filter(stale).update(**{field: at}) == 1


# connection pk → when this process last knew `last_webhook_at` fresh. The conditional UPDATE
# changes nothing on all but one webhook a minute, yet it is a statement (and on SQLite a write
# lock) on every one: a process skips it while its own knowledge is recent enough.
_webhook_seen_at: dict[Any, datetime] = {}


def webhook_seen(connection: Connection, *, at: datetime | None = None) -> None:
    """An authenticated webhook arrived (called by the webhook view). Never raises.

    The stamp stays at most 1.5 × STAMP_EVERY behind the latest webhook: after this process
    wrote it (or found it fresh, i.e. at most STAMP_EVERY old) it skips the write for STAMP_EVERY / 2."""
    at = at or clock.now()
    known = _webhook_seen_at.get(connection.pk)
    if known is not None and known <= at < known + STAMP_EVERY / 2:
        return
    try:
        _stamp(connection.pk, "last_webhook_at", at)
    except Exception:
        log.exception("connection %s: could not stamp the last webhook", connection.pk)
        return
    # Written or not (another process stamped it less than STAMP_EVERY ago), the stamp is now at
    # most STAMP_EVERY behind `at`, so skipping for STAMP_EVERY / 2 keeps it within 1.5 × of the latest.
    _webhook_seen_at[connection.pk] = at


def on_message_sent(sender, *, connection_id, at, **kwargs) -> None:
    """tickets.signals.message_sent: the provider accepted a message. Never raises."""
    try:
        _stamp(connection_id, "last_send_at", at)
    except Exception:
        log.exception("connection %s: could not stamp the last send", connection_id)


# --- what the admin list and the supervisors' banner show --------------------------------------------


@dataclass(frozen=True)
class Health:
    level: str  # ok, warning, down, unknown
    label: str


def silence_limit() -> timedelta:
    return timedelta(minutes=settings.WHATSAPP_SILENCE_WARNING_MINUTES)


def connection_health(connection: Connection, *, now: datetime | None = None) -> Health:
    now = now or clock.now()
    if not connection.active:
        return Health("unknown", _("Inativa"))
    if capabilities(connection).reports_connection_state:
        state = (connection.state or "").lower()
        if state == OPEN:
            return Health("ok", _("Conectada"))
        if state == CONNECTING:
            return Health("warning", _("Conectando"))
        if state:
            return Health("down", _("Desconectada"))
        return Health("unknown", _("Estado desconhecido"))
    if connection.last_webhook_at is None:
        return Health("unknown", _("Nenhum webhook recebido ainda"))
    if now - connection.last_webhook_at > silence_limit():
        return Health("warning", _("Sem webhooks desde %(at)s") % {"at": _local(connection.last_webhook_at)})
    return Health("ok", _("Recebendo webhooks"))


def _local(at: datetime) -> str:
    return timezone.localtime(at).strftime("%d/%m/%Y %H:%M")


@dataclass(frozen=True)
class Alert:
    connection_id: Any
    name: str
    health: Health


def connection_alerts_for(user: Any, *, now: datetime | None = None) -> list[Alert]:
    """The connections a supervisor should look at now (not open, or silent); nothing for other users."""
    if not getattr(user, "is_authenticated", False) or not permissions.is_supervisor(user):
        return []
    connections = Connection.objects.filter(active=True)
    if user.reseller_id is not None:
        connections = connections.filter(reseller_id=user.reseller_id)
    alerts = []
    for connection in connections.order_by("name"):
        health = connection_health(connection, now=now)
        if health.level in ("warning", "down"):
            alerts.append(Alert(connection.pk, str(connection), health))
    return alerts
