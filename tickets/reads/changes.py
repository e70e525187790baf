"""The one reader of what changed on tickets: live updates and outgoing webhooks both read it here.

A change is what tickets.activity.ticket_change wrote: the ticket's version after it, its stamp, and
its record (a TicketEvent with that `ticket_version`). Per ticket the versions run 1, 2, 3… without a
hole and the stamps never go back, so a ticket's changes are read in order by version.

A ticket can lack the record of its latest change only: on MongoDB a crash between the change and its
record (the next change of the ticket writes it first). The reader then reports that change from the
ticket's own copy (`last_change`), exactly as its record would have said, with `recorded=False`.
Nothing is written here: tickets.activity.change_record_repair writes a missing record.

- `ticket_changes(ticket_id, after_version=…)`: one ticket's changes after a version (a conversation).
- `changes_since(reseller_id=…, after=cursor)`: a tenant's changes, oldest stamp first, with a cursor to
  resume from. A change is reported once per cursor chain, each ticket's changes in the order of their
  versions. A change becomes visible some time after its stamp (its transaction commits, a write
  reaches MongoDB); the cursor reads again the last SETTLE before its position and keeps the versions
  it already reported there, so a change that shows up within SETTLE of its stamp is never skipped
  nor repeated.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q

from iaze.lib import clock
from tickets.models import Ticket, TicketEvent

# How long after its stamp a change may become visible to readers (a transaction still open, a clock
# a little behind another process's): the window a cursor reads again.
SETTLE = timedelta(seconds=60)
# A version missing below a ticket's latest one: only ever seen on data restored from a crashed
# MongoDB into an SQL database (where writers do not repair). Reported so that no version is skipped.
UNRECORDED = "unrecorded"

_EVENT_FIELDS = ("ticket_id", "ticket_version", "at", "action", "actor_id", "from_state", "to_state", "data")


@dataclass(frozen=True)
class Change:
    ticket_id: uuid.UUID
    version: int
    at: datetime
    action: str
    actor_id: uuid.UUID | None = None
    from_state: str = ""
    to_state: str = ""
    data: dict = field(default_factory=dict)
    # False: read from the ticket's copy of its latest change, its record not written (yet).
    recorded: bool = True

    @property
    def key(self) -> tuple[datetime, str, int]:
        """The feed's order: stamp, then ticket, then version (the same order as the database's)."""
        return (self.at, self.ticket_id.hex, self.version)


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _from_record(row: dict[str, Any]) -> Change:
    return Change(
        ticket_id=_uuid(row["ticket_id"]),  # type: ignore[arg-type]
        version=row["ticket_version"],
        at=row["at"],
        action=row["action"],
        actor_id=_uuid(row["actor_id"]),
        from_state=row["from_state"],
        to_state=row["to_state"],
        data=row["data"] or {},
    )


def _from_ticket(row: dict[str, Any]) -> Change:
    """The ticket's latest change, from the copy its conditional write stored."""
    change = row["last_change"] or {}
    return Change(
        ticket_id=_uuid(row["pk"]),  # type: ignore[arg-type]
        version=row["version"],
        at=row["changed_at"],
        action=change.get("action", ""),
        actor_id=_uuid(change.get("actor")),
        from_state=change.get("from_state", ""),
        to_state=change.get("to_state", ""),
        data=change.get("data") or {},
        recorded=False,
    )


_TICKET_FIELDS = ("pk", "version", "changed_at", "last_change")


def ticket_changes(ticket_id: Any, *, after_version: int = 0, limit: int | None = None) -> list[Change]:
    """The ticket's changes after `after_version`, in order of version, each version once."""
    row = Ticket.objects.filter(pk=ticket_id).values(*_TICKET_FIELDS).first()
    if row is None or row["version"] <= after_version:
        return []
    # The ticket first: every record up to its version is there by now (or only its latest is missing).
    records = TicketEvent.objects.filter(
        ticket_id=row["pk"], ticket_version__gt=after_version, ticket_version__lte=row["version"]
    ).order_by("ticket_version")
    if limit is not None:
        records = records[:limit]
    found = {r["ticket_version"]: _from_record(r) for r in records.values(*_EVENT_FIELDS)}
    out: list[Change] = []
    for version in range(after_version + 1, row["version"] + 1):
        if limit is not None and len(out) >= limit:
            break
        if version in found:
            out.append(found[version])
        elif version == row["version"]:
            out.append(_from_ticket(row))
        else:
            out.append(Change(row["pk"], version, row["changed_at"], UNRECORDED, recorded=False))
    return out


# --- a tenant's changes, with a cursor ------------------------------------------------------------


@dataclass
class _Cursor:
    """Where a reader is: the newest stamp it was given (`position`), and, for the tickets whose last
    change it was given lies within SETTLE of that, the version and stamp of that change."""

    position: datetime | None = None
    seen: dict[uuid.UUID, tuple[int, datetime]] = field(default_factory=dict)

    @property
    def floor(self) -> datetime | None:
        return None if self.position is None else self.position - SETTLE

    def encode(self) -> str:
        def ms(value: datetime) -> int:
            return round(value.timestamp() * 1000)

        raw = {
            "p": None if self.position is None else ms(self.position),
            "s": {t.hex: [v, ms(at)] for t, (v, at) in sorted(self.seen.items())},
        }
        return base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str | None) -> _Cursor:
        if not value:
            return cls()
        try:
            raw = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))

            def stamp(ms: int) -> datetime:
                return datetime.fromtimestamp(ms / 1000, tz=UTC)

            position = None if raw["p"] is None else stamp(int(raw["p"]))
            seen = {uuid.UUID(t): (int(v), stamp(int(at))) for t, (v, at) in raw["s"].items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError("not a change cursor") from exc
        return cls(position, seen)

    def advance(self, changes: list[Change]) -> _Cursor:
        position, seen = self.position, dict(self.seen)
        for change in changes:
            position = change.at if position is None else max(position, change.at)
            seen[change.ticket_id] = (change.version, change.at)
        moved = _Cursor(position, seen)
        floor = moved.floor
        moved.seen = {t: (v, at) for t, (v, at) in seen.items() if floor is None or at >= floor}
        return moved


def changes_since(*, reseller_id: Any, after: str | None = None, limit: int = 100) -> tuple[list[Change], str]:
    """The tenant's changes after the cursor `after` (None: from the first), oldest stamp first, at most
    `limit`; and the cursor to pass next time (the same one when nothing new was there).

    Each ticket's changes come in the order of their versions. ValueError for a cursor this reader did
    not make."""
    limit = max(1, limit)
    cursor = _Cursor.decode(after)
    page, end = _records_after(reseller_id, cursor, limit)
    changes = sorted(page + _unrecorded_latest(reseller_id, cursor, page, end), key=lambda c: c.key)
    if end is not None:
        changes = [c for c in changes if c.key <= end]  # both reads are complete up to here
    changes = changes[:limit]
    return changes, cursor.advance(changes).encode()


def _records_after(reseller_id: Any, cursor: _Cursor, limit: int) -> tuple[list[Change], tuple | None]:
    """The first `limit` recorded changes the cursor has not given, in the feed's order; and how far the
    records were read (None: to the end). What the cursor gave within SETTLE is skipped here, not in the
    query: a busy tenant's hundreds of tickets would make it a very long one."""
    records = TicketEvent.objects.filter(reseller_id=reseller_id, ticket_version__gt=0)
    if cursor.floor is not None:
        records = records.filter(at__gte=cursor.floor)
    ordered = records.order_by("at", "ticket_id", "ticket_version").values(*_EVENT_FIELDS)
    batch = limit + len(cursor.seen)
    page: list[Change] = []
    taken: set[tuple[uuid.UUID, int]] = set()
    offset = 0
    while True:
        # By offset: rows are only ever added, and one added meanwhile before the offset only makes a
        # row come twice (skipped below), never one be missed.
        rows = [_from_record(r) for r in ordered[offset : offset + batch]]
        offset += len(rows)
        for change in rows:
            given = cursor.seen.get(change.ticket_id)
            if (given is not None and change.version <= given[0]) or (change.ticket_id, change.version) in taken:
                continue
            taken.add((change.ticket_id, change.version))
            page.append(change)
            if len(page) == limit:
                return page, change.key
        if len(rows) < batch:
            return page, None


def _unrecorded_latest(reseller_id: Any, cursor: _Cursor, page: list[Change], end) -> list[Change]:
    """The tickets' latest changes whose record is missing, from the tickets' copies, up to `end`.

    Such a change is reported once its ticket's version before it was reported (in this page or
    before), so a ticket's changes never come out of order."""
    floor = cursor.floor
    tickets = Ticket.objects.filter(reseller_id=reseller_id, version__gt=0)
    if floor is not None:
        tickets = tickets.filter(changed_at__gte=floor)
    if end is not None:
        tickets = tickets.filter(changed_at__lte=end[0])
    in_page = {(c.ticket_id, c.version) for c in page}
    candidates = []
    for row in tickets.values(*_TICKET_FIELDS):
        ticket_id, version = _uuid(row["pk"]), row["version"]
        given = cursor.seen.get(ticket_id)  # type: ignore[arg-type]
        if (ticket_id, version) not in in_page and (given is None or version > given[0]):
            candidates.append(row)
    stored: dict[tuple[uuid.UUID | None, int], datetime] = {}
    for start in range(0, len(candidates), 200):
        chunk = candidates[start : start + 200]
        wanted = reduce(or_, (Q(ticket_id=r["pk"], ticket_version__in=(r["version"] - 1, r["version"])) for r in chunk))
        for t, v, at in TicketEvent.objects.filter(wanted).values_list("ticket_id", "ticket_version", "at"):
            stored[(_uuid(t), v)] = at
    out = []
    for row in candidates:
        ticket_id, version = _uuid(row["pk"]), row["version"]
        if (ticket_id, version) in stored:
            continue  # recorded: the records' read reports it
        before = version - 1
        given_before = ticket_id in cursor.seen and cursor.seen[ticket_id][0] >= before
        before_at = stored.get((ticket_id, before))
        reported = (
            before == 0
            or given_before
            or (ticket_id, before) in in_page
            or before_at is None  # no record at all below it (see UNRECORDED): nothing to wait for
            or (floor is not None and before_at < floor)
        )
        if reported:
            out.append(_from_ticket(row))
    return out


def changes_cursor_now(*, reseller_id: Any) -> str:
    """A cursor from now on: the tenant's changes from this moment, none of those before it."""
    cursor = _Cursor(position=clock.now()).encode()
    while True:
        page, cursor = changes_since(reseller_id=reseller_id, after=cursor, limit=500)
        if not page:
            return cursor


def change_key_encode(change: Change) -> str:
    """A short, stable name of one change in a tenant's feed: its stamp (ms), ticket and version.

    Live updates use it as the SSE event id: a browser sends it back as Last-Event-ID, and
    `changes_cursor_after` turns it into a cursor again (a full cursor may be too long for a header)."""
    return f"{round(change.at.timestamp() * 1000)}-{change.ticket_id.hex}-{change.version}"


def change_key_decode(value: str) -> tuple[datetime, uuid.UUID, int]:
    """ValueError for anything `change_key_encode` did not make."""
    try:
        ms, ticket, version = value.strip().split("-")
        return datetime.fromtimestamp(int(ms) / 1000, tz=UTC), uuid.UUID(hex=ticket), int(version)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError("not a change key") from exc


def changes_cursor_after(*, reseller_id: Any, key: str) -> str:
    """A cursor that resumes after the change named by `key` (change_key_encode): every change of the
    tenant at or before it in the feed's order counts as given. ValueError for a bad key.

    Rebuilt from the records within SETTLE of that change. What this cannot tell: a change stamped
    before it that became visible only after it was sent counts as given (the page refetches its
    view on reconnect anyway)."""
    at, ticket, version = change_key_decode(key)
    last = (at, ticket.hex, version)
    seen: dict[uuid.UUID, tuple[int, datetime]] = {}
    rows = TicketEvent.objects.filter(
        reseller_id=reseller_id, ticket_version__gt=0, at__gte=at - SETTLE, at__lte=at
    ).values_list("ticket_id", "ticket_version", "at")
    for t, v, stamp in rows:
        tid = _uuid(t)
        if tid is not None and (stamp, tid.hex, v) <= last and v > seen.get(tid, (0, stamp))[0]:
            seen[tid] = (v, stamp)
    return _Cursor(position=at, seen=seen).encode()
