"""GET /eventos/: the logged-in user's Server-Sent Events stream (CONTRACT §7, docs/workspace.md#live-updates).

An async view: under ASGI an open stream holds no worker thread, only a waiting coroutine; its database
work (the user's checks, which changes they may see) runs briefly in the thread pool, with connections
closed as after a request (`_db`). The changes come from the process's one reader of the change
record (tickets.reads.live), so every process sees every change, whichever process made it.

Each event is `id: <change key>` and `data: {"type", "ticket", "version", "state"}` on one line; a
reconnect's Last-Event-ID is resumed from the change record (tickets.reads.changes.changes_cursor_after).
A stream closes when its user is deactivated, logs out (the session is gone or no longer theirs) or reads
too slowly (its buffer is full); the page then reconnects, or falls back to polling.

Under a WSGI server a stream would hold a whole worker: the view answers 204 there, which tells the
browser's EventSource not to reconnect, and the pages keep polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from importlib import import_module
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.crypto import constant_time_compare

from accounts import presence
from accounts.models import Reseller
from iaze.lib import clock
from tickets.reads.changes import Change, change_key_encode, changes_since
from tickets.reads.changes import changes_cursor_after as cursor_after
from tickets.reads.live import Subscriber, event_type, hub, visible_changes

# Changes a reconnect is given from the record before it is told to reload instead (type "resync").
REPLAY_LIMIT = 500
# What the browser waits before reconnecting a dropped stream (ms).
RETRY_MS = 3000


async def _db(fn: Callable[..., Any], *args: Any) -> Any:
    """Run database work off the event loop; its connection is closed (or kept, per CONN_MAX_AGE) as
    after a request, so a stream open for hours holds no connection of its own."""

    def run():
        close_old_connections()
        try:
            return fn(*args)
        finally:
            close_old_connections()

    return await sync_to_async(run, thread_sensitive=False)()


def _presence_seen(user: Any) -> None:
    """A stream tells presence (accounts.presence) that its user is here when it opens and with each batch
    of changes; while it is open, the hub's check (`_check_streams`) does it for every stream at once,
    every LIVE_RECHECK_SECONDS, well within presence's 30 s. Free within 10 s of the last write: `seen`
    compares with the stamp on the user just read."""
    presence.seen(user)


def _session_ok(user: Any, data: dict | None) -> bool:
    """The session still logs this user in: not logged out, not another user's, and the password is the
    one it was opened with (a password change ends every other session of the user)."""
    if not data or str(data.get(SESSION_KEY)) != str(user.pk):
        return False
    return constant_time_compare(data.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash())


def _current_user(user_pk: Any, session_key: str | None) -> Any:
    """The stream's user as they are now, or None when deactivated or logged out of this session."""
    user = get_user_model().objects.filter(pk=user_pk, is_active=True).first()
    if user is None or not session_key:
        return None
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key).load()
    return user if _session_ok(user, data) else None


DB_SESSIONS = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


def _sessions(keys: set[str]) -> dict[str, dict]:
    """The data of these sessions, in one query with the database's session store."""
    engine = import_module(settings.SESSION_ENGINE)
    if settings.SESSION_ENGINE not in DB_SESSIONS:
        return {key: engine.SessionStore(key).load() for key in keys}
    from django.contrib.sessions.models import Session

    store = engine.SessionStore()
    rows = Session.objects.filter(session_key__in=list(keys), expire_date__gt=clock.now())
    return {key: store.decode(data) for key, data in rows.values_list("session_key", "session_data")}


def _check_streams(subs: list[Subscriber]) -> None:
    """The hub's periodic check of every open stream of this process at once (tickets.reads.live.Hub.checker):
    a few queries whatever the number of streams, so that streams with nothing to say cost nearly nothing.
    Ends the streams whose user was deactivated or logged out; marks the others' users online (a write only
    for the stamps older than presence's WRITE_EVERY, so most checks only read)."""
    if not subs:
        return
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=list({s.user_pk for s in subs}), is_active=True)}
    sessions = _sessions({s.session_key for s in subs if s.session_key})
    here = {}
    for sub in subs:
        user = users.get(sub.user_pk)
        if user is None or not _session_ok(user, sessions.get(sub.session_key or "")):
            sub.end()
        else:
            here[user.pk] = user
    presence.seen_many(here.values())


hub().checker = _check_streams


def _who(request) -> Any:
    user = request.user
    return user if user.is_authenticated else None


def _tenants(user: Any) -> list | None:
    return None if user.is_admin and user.reseller_id is None else [user.reseller_id]


def _open(
    user: Any, session_key: str | None, loop: asyncio.AbstractEventLoop, last_id: str
) -> tuple[Subscriber, list[Change], bool]:
    """Subscribe, then read what a reconnect missed: (subscriber, missed changes, whether more were missed
    than REPLAY_LIMIT). Subscribing first: a change committed meanwhile comes twice at worst (skipped)."""
    tenants = _tenants(user)
    sub = hub().subscribe(tenants, loop, user_pk=user.pk, session_key=session_key)
    if not last_id:
        return sub, [], False
    missed: list[Change] = []
    for tenant in Reseller.objects.values_list("pk", flat=True) if tenants is None else tenants:
        try:
            cursor = cursor_after(reseller_id=tenant, key=last_id)
        except ValueError:
            return sub, [], True  # not an id of ours: the page reloads its view
        while len(missed) <= REPLAY_LIMIT:
            page, cursor = changes_since(reseller_id=tenant, after=cursor, limit=REPLAY_LIMIT)
            if not page:
                break
            missed.extend(page)
    if len(missed) > REPLAY_LIMIT:
        return sub, [], True
    return sub, missed, False


def _allowed(user_pk: Any, session_key: str | None, changes: list[Change]) -> tuple[bool, list[Change]]:
    """(still open, the changes the user may see)."""
    user = _current_user(user_pk, session_key)
    if user is None:
        return False, []
    _presence_seen(user)
    return True, visible_changes(user, changes)


def _event(change: Change) -> str:
    data = {"type": event_type(change), "ticket": str(change.ticket_id), "version": change.version}
    if change.to_state:
        data["state"] = change.to_state
    return f"id: {change_key_encode(change)}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _stream(sub: Subscriber, user_pk: Any, session_key: str | None, missed: list[Change], resync: bool):
    # What the reconnect's read of the record gave, skipped when the process's reader gives it too.
    sent = {(c.ticket_id, c.version) for c in missed}
    replayed_to = max((c.key for c in missed), default=None)
    try:
        yield f"retry: {RETRY_MS}\n\n"
        if resync:
            yield 'data: {"type":"resync"}\n\n'
        if missed:
            still, shown = await _db(_allowed, user_pk, session_key, missed)
            if not still:
                return
            for change in shown:
                yield _event(change)
        while True:
            with contextlib.suppress(TimeoutError):  # no change meanwhile: a keep-alive
                await asyncio.wait_for(sub.wake.wait(), timeout=float(settings.LIVE_RECHECK_SECONDS))
            if sub.dropped:
                return  # too slow a reader, or its user or session gone (the hub's check): closed
            changes = sub.take()
            if not changes:
                # Nothing to filter: no database work here; the hub checks every idle stream at once.
                yield ": -\n\n"  # a comment keeps proxies from timing the stream out
                continue
            still, shown = await _db(_allowed, user_pk, session_key, changes)
            if not still:
                return
            out = [_event(c) for c in shown if (c.ticket_id, c.version) not in sent]
            if replayed_to is not None and any(c.key > replayed_to for c in changes):
                sent.clear()  # the reader is past what the record's read gave: they overlap no more
            yield "".join(out) if out else ": -\n\n"  # a comment keeps proxies from timing the stream out
    finally:
        hub().unsubscribe(sub)


async def events(request) -> HttpResponseBase:
    # The sync request.user, off the loop: the project's auth backend reads the user's tenant.
    user = await _db(_who, request)
    if user is None:
        return redirect_to_login(request.get_full_path())
    if not isinstance(request, ASGIRequest):
        return HttpResponse(status=204)  # a sync worker cannot hold a stream: the pages poll
    session_key = request.session.session_key
    if await _db(_current_user, user.pk, session_key) is None:
        return HttpResponse(status=204)  # a token or a session gone meanwhile: nothing to stream
    last_id = (request.headers.get("Last-Event-ID") or "").strip()[:200]
    sub, missed, resync = await _db(_open, user, session_key, asyncio.get_running_loop(), last_id)
    await _db(_presence_seen, user)
    response = StreamingHttpResponse(
        _stream(sub, user.pk, session_key, missed, resync), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
    return response
