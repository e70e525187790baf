"""The outbox: the whole delivery life of an outbound message, and the only writer of its delivery state.

Queue (a message stored as `queued` before anything is sent), lease, send, record, receipts.
The job life (claim, lease, attempts, backoff, `not_before`) is the durable job queue of
iaze.lib.jobs, declared as tickets.queues.OUTBOX: a message is claimed with one conditional
update (a lease) before any HTTP call, so several `send_outbox` processes and the request's
fast path never send one message twice. The claim, the call and the result are separate steps
with no transaction open across the HTTP call; a crash mid-way leaves a lease that simply expires.
A scheduled message (`not_before`) is never sent early, not even by the one-pass send.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import IntegrityError, transaction
from django.db import connection as db_connection

from iaze.lib import blobs, clock
from iaze.lib.jobs import Job, fair_order
from iaze.lib.workers import Runner, group_share
from providers import SendError, get_provider
from providers.base import call_budget
from tickets import activity
from tickets.activity import message_preview, ticket_touch
from tickets.media import store as media_store
from tickets.models import MediaFile, Message, Ticket, TicketEvent
from tickets.queues import OUTBOX
from tickets.reads.search import ticket_terms_add
from tickets.signals import message_sent

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = OUTBOX.backoff.base
BACKOFF_CAP_SECONDS = OUTBOX.backoff.cap
OUTCOMES = ("sent", "retry", "failed", "skipped")
# Less left of a request's inline budget than this: not worth a provider call (the worker sends it).
INLINE_MIN_SECONDS = 0.1


def message_enqueue_outbound(
    *,
    ticket: Ticket,
    text: str,
    agent=None,
    nonce: str = "",
    kind: str = Message.Kind.TEXT,
    media_file: MediaFile | None = None,
    file_type: str = "",
    media: dict | None = None,
    not_before: datetime | None = None,
    action: str = TicketEvent.Action.REPLIED,
    record: dict | None = None,
    reply_to: Message | None = None,
) -> tuple[Message, bool]:
    """Store an outbound text (or a stored file, the text its caption) as `queued`, to be sent now or, for a
    scheduled message, from `not_before` on. Returns (message, created).

    `reply_to`: a sent message of the ticket that this one quotes. The ticket's change that follows the
    insert is recorded as `action` (by `agent`), its data naming the message, plus `record`."""
    now = clock.now()
    try:
        with transaction.atomic():
            message = OUTBOX.enqueue(
                not_before=not_before,
                ticket=ticket,
                connection_id=ticket.connection_id,
                direction=Message.Direction.OUT,
                kind=kind,
                text=text,
                sender_agent=agent,
                client_nonce=nonce,
                media_file=media_file,
                file_type=file_type,
                media=media or {},
                reply_to=reply_to,
                reply_to_provider_id=reply_to.provider_message_id if reply_to else "",
            )
            ticket_terms_add(ticket, text)
    except IntegrityError:
        if not nonce:
            raise
        return Message.objects.get(ticket=ticket, client_nonce=nonce), False
    _outbound_touch(ticket, message, at=now, preview=message_preview(kind, text, media), action=action, record=record)
    return message, True


def message_enqueue_reaction(
    *, ticket: Ticket, target: Message, emoji: str, agent: Any, nonce: str = ""
) -> tuple[Message, bool]:
    """Store an agent's reaction to the client's message `target` as `queued` (an empty emoji takes it
    back): an outbox item like a reply, sent exactly once. Returns (message, created).

    A reaction is not a new message of the conversation: the ticket's latest message and its preview stay
    as they are; its change is recorded as `reacted`."""
    now = clock.now()
    try:
        with transaction.atomic():
            message = OUTBOX.enqueue(
                ticket=ticket,
                connection_id=ticket.connection_id,
                direction=Message.Direction.OUT,
                kind=Message.Kind.REACTION,
                text=emoji,
                media={"emoji": emoji, "removed": not emoji},
                sender_agent=agent,
                client_nonce=nonce,
                reply_to=target,
                reply_to_provider_id=target.provider_message_id,
            )
            activity.ticket_change(
                ticket,
                action=TicketEvent.Action.REACTED,
                actor=agent,
                to_state=ticket.ui_state,
                at=now,
                values={"updated_at": now},
                data={"message_id": str(message.pk), "target_id": str(target.pk), "emoji": emoji},
            )
    except IntegrityError:
        if not nonce:
            raise
        return Message.objects.get(ticket=ticket, client_nonce=nonce), False
    return message, True


def _outbound_touch(ticket: Ticket, message: Message, *, at, preview: str, action: str, record: dict | None) -> None:
    ticket_touch(
        ticket,
        at=at,
        preview=preview,
        inbound=False,
        # An agent's reply or template answers the client; an automatic text never does.
        human=message.sender_agent_id is not None and action != TicketEvent.Action.AUTO_MESSAGE,
        action=action,
        actor=message.sender_agent_id,
        to_state=ticket.ui_state,
        **{**(record or {}), "message_id": str(message.pk)},
    )


def message_enqueue_template(
    *,
    ticket: Ticket,
    text: str,
    template: dict,
    agent: Any = None,
    nonce: str = "",
    not_before: datetime | None = None,
    record: dict | None = None,
) -> tuple[Message, bool]:
    """Store an approved template as `queued`: `template` is {"name", "language", "params"}, `text` its
    body with the parameters filled in (what the thread shows). Returns (message, created); the ticket's
    change is recorded as `template`, its data naming the template, plus `record`."""
    now = clock.now()
    try:
        with transaction.atomic():
            message = OUTBOX.enqueue(
                not_before=not_before,
                ticket=ticket,
                connection_id=ticket.connection_id,
                direction=Message.Direction.OUT,
                kind=Message.Kind.TEMPLATE,
                text=text,
                media={"template": template},
                sender_agent=agent,
                client_nonce=nonce,
            )
            ticket_terms_add(ticket, text)
    except IntegrityError:
        if not nonce:
            raise
        return Message.objects.get(ticket=ticket, client_nonce=nonce), False
    record = {**(record or {}), "template": template.get("name", "")}
    _outbound_touch(ticket, message, at=now, preview=text, action=TicketEvent.Action.TEMPLATE, record=record)
    return message, True


def message_queue(
    *,
    ticket: Ticket,
    text: str,
    agent: Any = None,
    nonce: str = "",
    kind: str = Message.Kind.TEXT,
    action: str = TicketEvent.Action.AUTO_MESSAGE,
    record: dict | None = None,
) -> tuple[Message, bool]:
    """Queue an outbound text and, when configured, try to send it soon (after the caller's commit).
    `action` and `record`: the ticket's change, as message_enqueue_outbound records it."""
    message, created = message_enqueue_outbound(
        ticket=ticket, text=text, agent=agent, nonce=nonce, kind=kind, action=action, record=record
    )
    if created:
        send_soon_if_inline(message)
    return message, created


def send_soon_if_inline(message: Message) -> None:
    """The request's fast path, unless the installation leaves every send to the worker."""
    if getattr(settings, "WHATSAPP_SEND_INLINE", True):
        send_soon(message)


def max_text_length(connection) -> int:
    return get_provider(connection).max_text_length


def backoff_seconds(attempts: int) -> int:
    return OUTBOX.backoff.seconds(attempts)


def message_claim(message_id, *, ignore_backoff: bool = False, now: datetime | None = None):
    """Take the lease on one queued message. Returns the lease end, or None when someone else has it (or
    it is not due: a scheduled message before its time)."""
    return OUTBOX.claim(message_id, now=now, ignore_backoff=ignore_backoff)


def _recipient(message: Message) -> str:
    client = message.ticket.client  # two plain lookups, no join: the same on every profile
    return client.wa_id or client.phone or client.identity


def message_deliver(message_id, *, ignore_backoff: bool = False, now: datetime | None = None) -> str:
    """Claim, send and record one message. Returns sent, retry, failed or skipped.

    `now`: the moment the claim judges due-ness by (the clock; a test's injected time)."""
    lease = message_claim(message_id, ignore_backoff=ignore_backoff, now=now)
    if lease is None:
        return "skipped"
    message = Message.objects.get(pk=message_id)
    if _earlier_file_queued(message):
        OUTBOX.release(message_id, lease, wait=ORDER_WAIT)
        return "skipped"
    try:
        result = _provider_send(message)
    except SendError as exc:
        if exc.retryable:
            OUTBOX.retry(message_id, lease, attempts=message.attempts, code=exc.code, text=exc.text, now=now)
            wait = backoff_seconds(message.attempts)
            log.warning("message %s: retryable send error %s, next try in %ss", message_id, exc.code, wait)
            return "retry"
        OUTBOX.fail(message_id, lease, code=exc.code, text=exc.text)
        log.warning("message %s: send failed for good: %s %s", message_id, exc.code, exc.text)
        return "failed"
    except Exception:
        OUTBOX.retry(message_id, lease, attempts=message.attempts, now=now)  # the stored error stays as it was
        log.exception("message %s: unexpected error while sending", message_id)
        return "retry"
    _record_sent(message_id, lease, result.provider_message_id)
    message_sent.send(sender=Message, connection_id=message.connection_id, at=clock.now())
    return "sent"


# How long a file of a multi-file send waits before it looks again at the file before it.
ORDER_WAIT = timedelta(seconds=2)


def _earlier_file_queued(message: Message) -> bool:
    """Files sent in one go (tickets.services.ticket_reply_files) reach the client in the order the agent chose,
    whichever worker takes them and however a send is retried: each names the file before it (`after`) and
    goes only once that one has left the queue (sent, or failed for good)."""
    after = str((message.media or {}).get("after") or "")
    return bool(after) and Message.objects.filter(pk=after, delivery_status=Message.Delivery.QUEUED).exists()


def _provider_send(message: Message):
    """The provider call for one claimed message. The adapter itself refuses anything but an outbound
    message (an internal note can never be sent, whatever path reached here)."""
    template = (message.media or {}).get("template") if message.kind == Message.Kind.TEMPLATE else None
    file = None
    if message.media_file_id:
        stored = MediaFile.objects.get(pk=message.media_file_id)
        file = {
            "kind": message.kind,
            "content": blobs.blob_read(stored.storage_name),
            "mime_type": media_store.message_file_type(message, stored, check_bytes=False),
            "filename": (message.media or {}).get("filename", ""),
            # A voice note recorded in the browser (tickets.services.voice_notes): played as one by the client.
            "voice": (message.media or {}).get("voice") is True,
        }
    quote = reaction = None
    if message.kind == Message.Kind.REACTION:
        reaction = {"message_id": message.reply_to_provider_id, "emoji": message.text, "from_me": False}
    elif message.reply_to_id is not None:
        quote = _quote_of(message, message.reply_to_id)
    return get_provider(message.connection).send_outbound(
        to=_recipient(message),
        direction=message.direction,
        text=message.text,
        template=template,
        file=file,
        quote=quote,
        reaction=reaction,
    )


def _quote_of(message: Message, quoted_id: Any) -> dict:
    """What the adapter needs of the message a reply quotes: its provider id, whether the business sent it,
    and its text when it is a plain text."""
    quoted = Message.objects.filter(pk=quoted_id).values("direction", "kind", "text").first() or {
        "direction": "",
        "kind": "",
        "text": "",
    }
    return {
        "id": message.reply_to_provider_id,
        "from_me": quoted["direction"] == Message.Direction.OUT,
        "text": quoted["text"] if quoted["kind"] == Message.Kind.TEXT else "",
    }


def _record_sent(message_id, lease, provider_message_id: str) -> None:
    sent_at = clock.now()
    try:
        with transaction.atomic():
            OUTBOX.succeed(message_id, lease, provider_message_id=provider_message_id, sent_at=sent_at)
    except IntegrityError:  # the provider's echo of this very message was stored first
        log.warning(
            "message %s: provider id %s already stored (echo); marking sent without it", message_id, provider_message_id
        )
        OUTBOX.succeed(message_id, lease, sent_at=sent_at)


# One tenant's backlog never sits in front of everybody else's next message (kept under its old name).
_fair_order = fair_order


class OutboxSender:
    """Sends with bounded concurrency: at most `workers` provider calls in flight, at most `per_connection`
    of them for one connection and `per_tenant` for one tenant (reseller), so a slow provider holds only its
    own tenant's senders, however many connections the tenant has (iaze.lib.workers). The lease
    (message_claim) still guarantees that no message is ever sent twice. `stopping`: the worker's stop,
    checked before each send when sends run one at a time."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        per_connection: int | None = None,
        per_tenant: int | None = None,
        stopping=None,
    ):
        self.workers = max(1, workers or int(getattr(settings, "WHATSAPP_OUTBOX_WORKERS", 4)))
        self.per_connection = max(1, per_connection or int(getattr(settings, "WHATSAPP_OUTBOX_PER_CONNECTION", 2)))
        self.per_tenant = group_share(self.workers, per_tenant or getattr(settings, "WHATSAPP_OUTBOX_PER_TENANT", 0))
        self.runner = Runner(
            threads=self.workers,
            per_tenant=self.per_connection,
            per_group=self.per_tenant,
            outcomes=OUTCOMES,
            error_outcome="retry",
            name="outbox",
            stopping=stopping or (lambda: False),
        )

    @property
    def counts(self) -> dict[str, int]:
        return self.runner.counts

    def busy(self, connection_id) -> int:
        return self.runner.busy(connection_id)

    def submit(self, rows: list, *, ignore_backoff: bool, now: datetime | None = None) -> list:
        """Start what the limits allow; returns the rows left for later."""
        work = partial(message_deliver, ignore_backoff=ignore_backoff, now=now)
        return self.runner.submit([Job(*row) for row in rows], work)

    def tick(self, *, ignore_backoff: bool = False, limit: int | None = 500) -> None:
        """The worker loop's step: start every due message the limits allow, without waiting for any."""
        self.runner.collect()
        rows = OUTBOX.due(
            limit=limit,
            per_tenant=self.runner.share,
            per_group=self.runner.group_share,
            ignore_backoff=ignore_backoff,
            exclude=self.runner.running(),
            skip_tenants=self.runner.full_tenants(),
            skip_groups=self.runner.full_groups(),
        )
        self.submit(rows, ignore_backoff=ignore_backoff)

    def wait_one(self, timeout: float | None = None) -> None:
        self.runner.wait_one(timeout)

    def take_counts(self) -> dict[str, int]:
        return self.runner.take_counts()

    def close(self, timeout: float | None = None) -> list:
        """Wait for the sends in flight (at most `timeout` seconds); returns the messages still being sent."""
        return self.runner.close(timeout)


def send_pending(*, ignore_backoff: bool = True, limit: int | None = None, now: datetime | None = None) -> dict:
    """One pass over the outbox. Without backoff (the command's default), every queued message is tried now,
    connections taking turns, under the sender's concurrency limits. A scheduled message before its
    `not_before` is never tried. `now`: the moment due-ness is judged by (the clock, or a test's)."""
    sender = OutboxSender()
    rows = OUTBOX.due(now=now, limit=limit, ignore_backoff=ignore_backoff)
    return sender.runner.run_all(rows, partial(message_deliver, ignore_backoff=ignore_backoff, now=now))


def _in_transaction() -> bool:
    # Test cases wrap each test in atomic blocks of their own; those are not the caller's transaction.
    return any(not getattr(block, "_from_testcase", False) for block in db_connection.atomic_blocks)


# One budget per web request for all its inline sends (a webhook may queue a greeting, an out-of-hours text
# and the menu): the first send starts the request's clock, later ones get what is left of it.
_request = threading.local()


def _request_started(**_) -> None:
    _request.active, _request.deadline = True, None


def _request_finished(**_) -> None:
    _request.active, _request.deadline = False, None


request_started.connect(_request_started, dispatch_uid="tickets.outbox.inline_budget_start")
request_finished.connect(_request_finished, dispatch_uid="tickets.outbox.inline_budget_end")


def _inline_budget() -> float:
    """Seconds this inline send may wait on its provider: the setting, shared by a whole web request."""
    budget = float(getattr(settings, "WHATSAPP_INLINE_SEND_BUDGET", 2.0))
    if not getattr(_request, "active", False):
        return budget  # a command or a test calling the services: each send its own budget
    now = time.monotonic()
    if _request.deadline is None:
        _request.deadline = now + budget
    return _request.deadline - now


def send_soon(message) -> None:
    """Fast path after a reply is stored: try now, outside any transaction, within a short budget
    (a slow provider never holds a web request: what does not finish in time is left to send_outbox).
    Never raises."""

    def attempt():
        budget = _inline_budget()
        if budget < INLINE_MIN_SECONDS:
            log.info("message %s: the request's inline budget is spent; left for send_outbox", message.pk)
            return
        try:
            with call_budget(budget):
                message_deliver(message.pk, ignore_backoff=True)
        except Exception:
            log.exception("message %s: inline send failed; left for send_outbox", message.pk)

    if _in_transaction():
        transaction.on_commit(attempt)
    else:
        attempt()


# Which delivery states a status may move a message out of: forward only, "failed" only before delivery.
_STATUS_FROM: dict[str, list[str]] = {
    Message.Delivery.SENT: [Message.Delivery.QUEUED],
    Message.Delivery.DELIVERED: [Message.Delivery.QUEUED, Message.Delivery.SENT],
    Message.Delivery.READ: [Message.Delivery.QUEUED, Message.Delivery.SENT, Message.Delivery.DELIVERED],
    Message.Delivery.FAILED: [Message.Delivery.QUEUED, Message.Delivery.SENT],
}


def message_apply_status(
    *,
    connection,
    provider_message_id: str,
    status: str,
    at: datetime | None = None,
    error_code: str = "",
    error_text: str = "",
) -> bool:
    """Apply a provider receipt to the outbound message it names. True when the state moved.

    Receipts arrive out of order and more than once; one conditional update keeps the
    state moving forward only (a late "sent" after "read" matches no row and changes nothing).
    """
    status = "read" if status == "played" else status
    if status not in _STATUS_FROM or not provider_message_id:
        log.info("status %r for %s ignored: not a delivery state", status, provider_message_id)
        return False
    at = clock.to_ms(at) or clock.now()
    changes = {"delivery_status": status, "updated_at": clock.now()}
    if status == Message.Delivery.FAILED:
        changes.update(error_code=str(error_code)[:32], error_text=error_text)
    else:
        changes[{"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}[status]] = at
    target = Message.objects.by_provider_id(connection, provider_message_id).filter(
        direction=Message.Direction.OUT, delivery_status__in=_STATUS_FROM[status]
    )
    row = target.values("pk", "ticket_id").first()
    moved = 0
    if row is not None:
        # The state and its change record commit together on SQL (see tickets.activity.ticket_change).
        with activity.together():
            moved = target.filter(pk=row["pk"]).update(**changes)
            if moved == 1:
                activity.ticket_change(
                    row["ticket_id"],
                    action=TicketEvent.Action.MESSAGE_STATUS,
                    data={"message_id": str(row["pk"]), "status": status},
                )
    if not moved and not Message.objects.by_provider_id(connection, provider_message_id).exists():
        log.info(
            "status %r for unknown message %s on connection %s ignored", status, provider_message_id, connection.pk
        )
    return moved == 1


def receipt_apply(
    *,
    connection,
    provider_message_id: str,
    status: str,
    at: datetime | None = None,
    error_code: str = "",
    error_text: str = "",
) -> str:
    """A receipt, as message_apply_status applies it: "applied" when the state moved; "unknown" when no
    message of that id is stored (yet), for a receipt can overtake the outbox recording the provider's id
    (the journal keeps such an event for a later pass); "unchanged" otherwise."""
    if message_apply_status(
        connection=connection,
        provider_message_id=provider_message_id,
        status=status,
        at=at,
        error_code=error_code,
        error_text=error_text,
    ):
        return "applied"
    if provider_message_id and not Message.objects.by_provider_id(connection, provider_message_id).exists():
        return "unknown"
    return "unchanged"
