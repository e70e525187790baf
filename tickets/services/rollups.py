"""The writer of the report's per-day rollups (tickets.rollup_model): a ticket's counts follow the ticket.

Every service whose conditional write changed what the report counts of a ticket (opened, menu routing,
claim, first response, transfer, close, rating asked, rating) then calls `ticket_rollup_sync`. The sync
does not replay the event: it compares what the ticket counts now with what was counted of it (the
`rolled_*` copies on the ticket) and adds the difference, after moving the copies with one
compare-and-set on `rolled_version`. So:

* each change is counted exactly once, whoever syncs it: of two concurrent syncs only one moves the
  version; the other reads again and finds nothing left to add; a replayed webhook or a retried request
  adds nothing;
* a transfer moves the ticket's counts to its new department and agent (-1 on the old row, +1 on the
  new one): the report attributes a ticket to its current department, agent and connection, as the
  exact figures do;
* a crash between a ticket's write and its sync is healed by the ticket's next sync (or by
  `manage.py rebuild_report_rollups`); on SQL databases the version move and the increments are one
  transaction; on MongoDB a crash between them leaves the rows short until a rebuild.

Every increment is one `F()` update of one row (its first write creates it; a concurrent creator's
IntegrityError turns into the update).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F

from iaze.lib import clock
from tickets.models import ReportRollup, Ticket
from tickets.rollup_model import FIRST_RESPONSE, HOURS, RESOLUTION, bucket
from tickets.rules import localtime

# The ticket fields the rollups count, each with its `rolled_` copy.
TRACKED = (
    "department_id",
    "agent_id",
    "claimed_at",
    "first_response_seconds",
    "closed_local_date",
    "resolution_seconds",
    "rating_asked_at",
    "rating",
)
FIXED = ("reseller_id", "connection_id", "opened_local_date", "opened_local_how")
READ = ("rolled_version", *FIXED, *TRACKED, *(f"rolled_{name}" for name in TRACKED))
ATTEMPTS = 20

Key = tuple[Any, Any, Any]  # (local day, department id, agent id or None)


def contributions(row: dict[str, Any], tz: ZoneInfo, prefix: str = "") -> dict[Key, Counter]:
    """What one ticket adds to the rows: its current fields (prefix "") or its counted copies ("rolled_")."""

    def get(name: str) -> Any:
        return row[prefix + name]

    out: dict[Key, Counter] = defaultdict(Counter)
    department, agent = get("department_id"), get("agent_id")
    opened_day = row["opened_local_date"]
    if opened_day is not None:
        cell = out[(opened_day, department, agent)]
        cell["opened"] += 1
        if row["opened_local_how"] is not None:
            cell[HOURS[row["opened_local_how"] % 24]] += 1
        if get("first_response_seconds") is not None:
            cell["responded"] += 1
            cell[FIRST_RESPONSE[bucket(get("first_response_seconds"))]] += 1
    if get("claimed_at") is not None:
        out[(get("claimed_at").astimezone(tz).date(), department, agent)]["claimed"] += 1
    if get("closed_local_date") is not None:
        cell = out[(get("closed_local_date"), department, agent)]
        cell["closed"] += 1
        if get("resolution_seconds") is not None:
            cell["resolved"] += 1
            cell[RESOLUTION[bucket(get("resolution_seconds"))]] += 1
        if get("rating_asked_at") is not None:
            cell["asked"] += 1
        if get("rating") is not None:
            cell[f"rated_{get('rating')}"] += 1
    return out


def difference(now: dict[Key, Counter], before: dict[Key, Counter]) -> dict[Key, dict[str, int]]:
    delta: dict[Key, dict[str, int]] = {}
    for key in {*now, *before}:
        cols = {
            c: now.get(key, Counter())[c] - before.get(key, Counter())[c]
            for c in {*now.get(key, ()), *before.get(key, ())}
        }
        cols = {c: n for c, n in cols.items() if n}
        if cols:
            delta[key] = cols
    return delta


def ticket_rollup_sync(ticket_id: Any, *, tz: ZoneInfo | None = None, known: Ticket | None = None) -> bool:
    """Count what changed of this ticket since its last sync. True when this call moved the counts.

    `known`: the ticket as its writer just inserted it, which spares the first read; the compare-and-set
    on `rolled_version` still decides, and a lost race reads the row as usual."""
    for attempt in range(ATTEMPTS):
        if known is not None and attempt == 0:
            row: dict[str, Any] | None = {name: getattr(known, name) for name in READ}
        else:
            row = Ticket.objects.filter(pk=ticket_id).values(*READ).first()
        if row is None:
            return False
        tz = tz or localtime.tenant_timezone(row["reseller_id"])
        before = contributions(row, tz, "rolled_") if row["rolled_version"] else {}
        delta = difference(contributions(row, tz), before)
        if not delta and row["rolled_version"]:
            return False
        copies = {f"rolled_{name}": row[name] for name in TRACKED}
        # Its own transaction, or a part of the caller's (the webhook's): no savepoint, as nothing here
        # is caught and carried on from (rows_add settles its insert race inside its own savepoint).
        with transaction.atomic(savepoint=False):
            won = Ticket.objects.filter(pk=ticket_id, rolled_version=row["rolled_version"]).update(
                rolled_version=row["rolled_version"] + 1, **copies
            )
            if won == 1:
                rows_add(row["reseller_id"], row["connection_id"], delta)
                return True
        # Another sync of this ticket moved the copies first: read again, add only what is left.
    raise RuntimeError(f"rollup sync of ticket {ticket_id} lost {ATTEMPTS} times in a row")


def rows_add(reseller_id: Any, connection_id: Any, delta: dict[Key, dict[str, int]]) -> None:
    """Add to the rows of one connection. Sorted keys: concurrent syncs lock rows in one order (PostgreSQL)."""
    now = clock.now()
    for key in sorted(delta, key=lambda k: (k[0], str(k[1]), str(k[2] or ""))):
        day, department_id, agent_id = key
        cols = delta[key]
        ident = dict(
            reseller_id=reseller_id,
            day=day,
            department_id=department_id,
            agent_key=str(agent_id or ""),
            connection_id=connection_id,
        )
        changes = {c: F(c) + n for c, n in cols.items()}
        if ReportRollup.objects.filter(**ident).update(**changes, updated_at=now):
            continue
        try:
            with transaction.atomic():
                ReportRollup.objects.create(**ident, agent_id=agent_id, **cols)
        except IntegrityError:  # created meanwhile by a concurrent sync: add to theirs
            ReportRollup.objects.filter(**ident).update(**changes, updated_at=now)
