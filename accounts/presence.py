"""Who is online: an agent whose page opened the live stream (/eventos/) or polled within the last minute.

The truth is one column, `User.last_seen_at`, so every process and machine agrees on it. `seen(user)` is
called by every page poll (the queue every 4 s, the conversation every 3 s), by the live stream when it
opens, and for every open stream at once by the live reader's periodic check (`seen_many`), so it must
cost nothing in the common case:

- it compares with the `last_seen_at` the request already read (the session's user row): a stamp younger
  than WRITE_EVERY means no read and no write at all;
- otherwise it is one conditional update, filtered on the stamp still being older than WRITE_EVERY, so
  several processes seeing the same user at once write it once, and nothing else is ever read.

So a user's row is written at most once per WRITE_EVERY (10 s), whatever the number of open pages or
processes. Online means seen within ONLINE_FOR (60 s): a page that polls is online on its first request,
and offline at most 60 s after its last one (the stamp is never older than the last poll).

A stream that holds a user object for minutes must call `seen` (or `aseen` from async code) at least every
30 s while it is open: the in-memory stamp is moved with each write, so the check stays free there too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import Q

from accounts.models import User
from iaze.lib import clock

WRITE_EVERY = timedelta(seconds=10)
ONLINE_FOR = timedelta(seconds=60)


def seen(user: Any, *, now: datetime | None = None) -> bool:
    """Mark `user` as online now. True when this call wrote the stamp (at most once per WRITE_EVERY)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return False
    now = now or clock.now()
    last = user.last_seen_at
    # A stamp a little ahead of this process's clock (another machine's) counts as fresh, not as stale:
    # two machines a few milliseconds apart must not take turns rewriting it.
    if last is not None and now - last < WRITE_EVERY:
        return False
    stale = Q(last_seen_at__isnull=True) | Q(last_seen_at__lte=now - WRITE_EVERY)
    wrote = bool(User.objects.filter(stale, pk=user.pk).update(last_seen_at=now))
    # Either this call wrote it or another process did within WRITE_EVERY: both are "seen now" for the check.
    user.last_seen_at = now
    return wrote


aseen = sync_to_async(seen)


def seen_many(users: Iterable[Any], *, now: datetime | None = None) -> int:
    """Mark many users online now (the live streams' periodic check), from the `last_seen_at` already
    loaded on each: the fresh stamps cost nothing, the stale ones are written in one conditional update,
    and when none is stale nothing is written at all. Returns how many were written."""
    now = now or clock.now()
    stale_users = [u for u in users if u.last_seen_at is None or now - u.last_seen_at >= WRITE_EVERY]
    if not stale_users:
        return 0
    stale = Q(last_seen_at__isnull=True) | Q(last_seen_at__lte=now - WRITE_EVERY)
    written = User.objects.filter(stale, pk__in=[u.pk for u in stale_users]).update(last_seen_at=now)
    for user in stale_users:
        user.last_seen_at = now  # written here or by another process within WRITE_EVERY: seen now
    return written


def is_online(user: Any, *, now: datetime | None = None) -> bool:
    """From the `last_seen_at` already loaded on `user`: no query."""
    last = getattr(user, "last_seen_at", None)
    if last is None or not getattr(user, "is_active", False):
        return False
    return last > (now or clock.now()) - ONLINE_FOR


def online_ids(reseller: Any, *, now: datetime | None = None) -> set:
    """The ids of the tenant's active users online now (one query)."""
    since = (now or clock.now()) - ONLINE_FOR
    reseller_id = getattr(reseller, "pk", reseller)
    return set(
        User.objects.filter(reseller_id=reseller_id, is_active=True, last_seen_at__gt=since).values_list(
            "pk", flat=True
        )
    )
