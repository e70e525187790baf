"""Live updates' fan-out inside one app process: one reader of the change record, many open streams.

A process holds any number of `/eventos/` streams (tickets.web.events). One reader thread per process
reads the change record (tickets.reads.changes.changes_since) of the tenants that have a stream open,
when the database signals a change (iaze.lib.live_signal: PostgreSQL's NOTIFY, MongoDB's change streams)
or else every LIVE_POLL_SECONDS, and hands each change to those streams. Every process reads the same record, so a
change made through any process (or the outbox worker) reaches the streams held by every other one with
no broker, on every database profile; a crash between a change and anything after it loses nothing,
because the record is written with the change itself.

Each stream has a bounded buffer (`Subscriber`): a consumer that stops reading is dropped when its buffer
is full, never grown; its page reconnects with Last-Event-ID and is given what it missed from the record.

Which of those changes a user may see is decided per stream (`visible`), through the pages' selectors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections

from accounts.models import Reseller
from iaze.lib import live_signal, stopping
from tickets.models import TicketEvent
from tickets.reads.changes import Change, changes_cursor_now, changes_since
from tickets.reads.selectors import ticket_queryset_for, user_department_ids

log = logging.getLogger(__name__)
# Seconds between tries to listen again for the database's signal after losing it.
RELISTEN = 30.0

A = TicketEvent.Action
# The `type` of each change's event: the names the outgoing webhooks use where there is one.
EVENT_TYPES = {
    A.CREATED: "ticket.created",
    A.STARTED: "ticket.created",
    A.MENU_ROUTED: "ticket.transferred",
    A.CLAIMED: "ticket.claimed",
    A.TRANSFERRED: "ticket.transferred",
    A.CLOSED: "ticket.closed",
    A.MESSAGE: "message.received",
    A.REPLIED: "message.sent",
    A.AUTO_MESSAGE: "message.sent",
    A.TEMPLATE: "message.sent",
    A.MESSAGE_STATUS: "message.status",
    A.NOTE: "ticket.note",
}


def event_type(change: Change) -> str:
    return EVENT_TYPES.get(change.action, "ticket.updated")  # type: ignore[call-overload]


def visible(user: Any, ticket_ids: Collection) -> set:
    """Of these tickets, those the user may open now (read afresh: a department change counts at once)."""
    if not ticket_ids:
        return set()
    return set(ticket_queryset_for(user).filter(pk__in=list(ticket_ids)).values_list("pk", flat=True))


def visible_changes(user: Any, changes: list[Change]) -> list[Change]:
    """The changes the user may see: of tickets they may open now, and the transfers that took a ticket
    away from them (their department's, or theirs), so that their queue drops it at once."""
    shown = visible(user, {c.ticket_id for c in changes})
    out = [c for c in changes if c.ticket_id in shown]
    lost = [c for c in changes if c.ticket_id not in shown and c.action == A.TRANSFERRED]
    if lost:
        mine = {str(d) for d in user_department_ids(user)}
        out += [c for c in lost if c.data.get("from_department") in mine or c.data.get("from_agent") == str(user.pk)]
        out.sort(key=lambda c: c.key)
    return out


class Subscriber:
    """One open stream's buffer: filled by the reader thread, emptied by the stream's event loop.

    `tenants`: the reseller ids it listens to, None for all (an installation admin)."""

    def __init__(
        self,
        tenants: Collection | None,
        loop: asyncio.AbstractEventLoop,
        maxsize: int,
        *,
        user_pk: Any = None,
        session_key: str | None = None,
    ):
        self.tenants = None if tenants is None else set(tenants)
        # Whose stream it is: the hub's checker (`Hub.checker`) ends the streams whose user or session is gone.
        self.user_pk = user_pk
        self.session_key = session_key
        self.loop = loop
        self.maxsize = maxsize
        self.wake = asyncio.Event()
        self.dropped = False
        self._items: deque[Change] = deque()
        self._lock = threading.Lock()

    def offer(self, changes: list[Change]) -> None:
        """From the reader thread: buffer the changes, or mark the stream dropped when they do not fit."""
        if not changes:
            return
        with self._lock:
            if self.dropped:
                return
            if len(self._items) + len(changes) > self.maxsize:
                self.dropped = True
                self._items.clear()  # nothing more is kept for a stream that is going away
            else:
                self._items.extend(changes)
        # RuntimeError: its loop is closed, the stream is gone (the hub forgets it once it is dropped).
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.wake.set)

    def end(self) -> None:
        with self._lock:
            self.dropped = True
            self._items.clear()
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.wake.set)

    def take(self) -> list[Change]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self.wake.clear()
            return items

    def pending(self) -> int:
        with self._lock:
            return len(self._items)


class Hub:
    """The process's one reader of the change record (a daemon thread, started with the first stream)."""

    def __init__(self, poll: float | None = None):
        self.poll = poll
        self._subs: set[Subscriber] = set()
        self._cursors: dict[Any, str] = {}
        self._lock = threading.Lock()
        # Held by a read of the record and by a subscription's first cursors: a tenant's cursor is made
        # before its first stream is registered, so nothing committed after subscribe() is missed.
        self._reading = threading.Lock()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None
        # The database's wake-up (iaze.lib.live_signal), listened to while the reader runs.
        self._listener: live_signal.Listener | None = None
        self._relisten_at = 0.0
        # Set by the web layer (tickets.web.events): given every open stream at once, every
        # LIVE_RECHECK_SECONDS, it ends those whose user was deactivated or logged out and marks the rest's
        # users online, in a few queries for all of them. Idle streams then cost the database nothing.
        self.checker: Callable[[list[Subscriber]], None] | None = None
        self._checked = 0.0

    def subscribe(
        self,
        tenants: Collection | None,
        loop: asyncio.AbstractEventLoop,
        *,
        user_pk: Any = None,
        session_key: str | None = None,
    ) -> Subscriber:
        """Register a stream (sync: it reads the database). Every change committed after this returns
        reaches it, unless it is dropped."""
        sub = Subscriber(tenants, loop, int(settings.LIVE_STREAM_BUFFER), user_pk=user_pk, session_key=session_key)
        with self._reading:
            wanted = Reseller.objects.values_list("pk", flat=True) if tenants is None else tenants
            for tenant in wanted:
                if tenant not in self._cursors:
                    self._cursors[tenant] = changes_cursor_now(reseller_id=tenant)
            with self._lock:
                self._subs.add(sub)
        with self._lock:
            self._subs.add(sub)
            if self._thread is None or not self._thread.is_alive():
                # A kick left for a reader that has stopped is not this one's: its cursors were just made,
                # so it waits for its first period (or a kick) like any other read.
                self._kick.clear()
                self._thread = threading.Thread(target=self._run, name="iaze-live-reader", daemon=True)
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subs.discard(sub)
            last = not self._subs
        if last:
            self.kick()  # the reader notices at once that it has nobody left to read for

    def end_all(self) -> None:
        """The process is stopping (iaze.lib.stopping): every open stream ends now, its page reconnects
        to a process that is serving and resumes from its Last-Event-ID."""
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.end()

    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def paused(self) -> threading.Lock:
        """Held, the reader does not read (the tests' in-memory SQLite refuses a write beside a read)."""
        return self._reading

    def kick(self) -> None:
        """Read now rather than at the next tick (a change made in this process; tests)."""
        self._kick.set()

    def signalled(self) -> bool:
        """Whether the database wakes the reader for each change (else it polls every LIVE_POLL_SECONDS)."""
        return self._listener is not None and self._listener.listening

    def _interval(self) -> float:
        if self.poll is not None:
            return float(self.poll)
        if self.signalled():
            # The streams' checks (deactivated users, presence) still come every LIVE_RECHECK_SECONDS.
            return min(float(settings.LIVE_SAFETY_POLL_SECONDS), float(settings.LIVE_RECHECK_SECONDS))
        return float(settings.LIVE_POLL_SECONDS)

    def _listen(self) -> None:
        """Listen for the database's signal; again at most every RELISTEN seconds once a listener is lost
        (a database restart): meanwhile the reader polls every LIVE_POLL_SECONDS."""
        self._relisten_at = time.monotonic() + RELISTEN
        if not settings.LIVE_SIGNAL or live_signal.vendor(TicketEvent.objects.db) == "sqlite":
            return
        if self._listener is not None:
            self._listener.stop()
        listener = live_signal.Listener(self.kick, collection=TicketEvent._meta.db_table, alias=TicketEvent.objects.db)
        self._listener = listener if listener.start() else None
        self.kick()  # a change committed while the listener started is read now, not at the next tick

    def _run(self) -> None:
        self._listen()
        while True:
            if not self.signalled() and time.monotonic() >= self._relisten_at:
                self._listen()
            # Waiting first: the cursors were made at subscribe(), nothing is missed meanwhile.
            self._kick.wait(self._interval())
            self._kick.clear()
            listener = None
            with self._reading:
                # The streams are taken once the read is ours, not before: one closed or ended (logged out,
                # the process stopping) while the reader waited for paused() is neither read for nor checked.
                with self._lock:
                    self._subs = {s for s in self._subs if not s.dropped}
                    subs = list(self._subs)
                    if not subs:
                        self._thread = None
                        self._cursors.clear()  # the next stream starts from its own moment
                        listener, self._listener = self._listener, None
                        connections.close_all()  # this thread's own, which nothing else would close
                if subs:
                    try:
                        self.tick(subs)
                        self._check(subs)
                    except Exception:
                        log.exception("live updates: reading the change record failed; trying again")
            if not subs:
                if listener is not None:
                    listener.stop()  # outside the locks: it waits up to a second for its thread
                return
            # Never let the reader die of its own clean-up: it is the process's only one.
            try:
                close_old_connections()
            except Exception:
                log.exception("live updates: closing the reader's connection failed")

    def _check(self, subs: list[Subscriber]) -> None:
        now = time.monotonic()
        if self.checker is None or now - self._checked < float(settings.LIVE_RECHECK_SECONDS):
            return
        self._checked = now
        self.checker([s for s in subs if not s.dropped])

    def tick(self, subs: Iterable[Subscriber]) -> None:
        """One read of every listened tenant's new changes, handed to the streams that listen to it."""
        subs = list(subs)
        tenants: set = set()
        for sub in subs:
            if sub.tenants is None:
                tenants.update(Reseller.objects.values_list("pk", flat=True))
                break
            tenants.update(sub.tenants)
        with self._lock:
            # A stream dropped for reading too slowly leaves on its next wake; one whose page went away
            # before it ever ran would not: neither is read for any longer.
            self._subs = {s for s in self._subs if not s.dropped}
            listened = {t for s in self._subs if s.tenants is not None for t in s.tenants}
            everything = any(s.tenants is None for s in self._subs)
        for gone in set(self._cursors) - tenants - listened:
            if not everything:
                del self._cursors[gone]
        for tenant in tenants:
            cursor = self._cursors.get(tenant)
            if cursor is None:
                # A tenant created after an installation admin's stream opened: from now on.
                self._cursors[tenant] = changes_cursor_now(reseller_id=tenant)
                continue
            while True:
                page, cursor = changes_since(reseller_id=tenant, after=cursor, limit=500)
                self._cursors[tenant] = cursor
                if not page:
                    break
                for sub in subs:
                    if sub.tenants is None or tenant in sub.tenants:
                        sub.offer(page)


_hub: Hub | None = None
_hub_lock = threading.Lock()


def hub() -> Hub:
    global _hub
    with _hub_lock:
        if _hub is None:
            _hub = Hub()
            stopping.on_stop(_hub.end_all)
        return _hub
