"""Recount the report's per-day rollups from the tickets (`manage.py rebuild_report_rollups`, migration 0013).

For installations that had tickets before the rollups, after a restore from an older backup, after bulk
loads that bypass the services (bench/seeding.py), or to repair a MongoDB crash between a sync's two
writes. Idempotent: every row of the tenant is set to the recount (rows no ticket counts any more are
set to zero, never deleted), and every ticket's `rolled_*` copies are set to its fields in one update,
so the next sync of a ticket adds only what changed after the rebuild. A ticket changed while the
rebuild runs may be counted twice or not at all: run it when nothing writes (a second run repairs it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F

from iaze.lib import clock
from tickets.models import ReportRollup, Ticket
from tickets.rollup_model import COLUMNS
from tickets.rules import localtime
from tickets.services.rollups import FIXED, TRACKED, contributions

PAGE = 5000


def _zones(config_model: Any) -> dict[Any, ZoneInfo]:
    return {r: localtime.zone(name) for r, name in config_model.objects.values_list("reseller_id", "timezone")}


def report_rollups_rebuild(
    *, reseller_id: Any = None, ticket_model: Any = None, rollup_model: Any = None, config_model: Any = None
) -> dict[str, int]:
    """Recount one tenant (or all). The model arguments are a migration's historical models."""
    if config_model is None:
        from accounts.models import ResellerConfig as config_model
    tickets_model: Any = ticket_model or Ticket
    rollups_model: Any = rollup_model or ReportRollup
    tickets = tickets_model.objects.all()
    rows = rollups_model.objects.all()
    if reseller_id is not None:
        tickets, rows = tickets.filter(reseller_id=reseller_id), rows.filter(reseller_id=reseller_id)
    now = clock.now()
    rows.update(**dict.fromkeys(COLUMNS, 0), updated_at=now)
    tickets.update(rolled_version=F("rolled_version") + 1, **{f"rolled_{name}": F(name) for name in TRACKED})
    zones = _zones(config_model)
    default = localtime.zone(None)
    totals: dict[tuple, Counter] = defaultdict(Counter)
    counted = 0
    fields = ("pk", *FIXED, *TRACKED)
    after = None
    while True:
        page_qs = tickets if after is None else tickets.filter(pk__gt=after)
        page = list(page_qs.order_by("pk").values(*fields)[:PAGE])
        if not page:
            break
        after = page[-1]["pk"]
        for row in page:
            tz = zones.get(row["reseller_id"], default)
            for (day, department_id, agent_id), cols in contributions(row, tz).items():
                totals[(row["reseller_id"], row["connection_id"], day, department_id, agent_id)].update(cols)
        counted += len(page)
    existing = {
        (r["reseller_id"], r["connection_id"], r["day"], r["department_id"], r["agent_key"]): r["id"]
        for r in rows.values("id", "reseller_id", "connection_id", "day", "department_id", "agent_key")
    }
    missing = []
    for (reseller, connection_id, day, department_id, agent_id), cols in totals.items():
        pk = existing.get((reseller, connection_id, day, department_id, str(agent_id or "")))
        if pk is not None:
            rollups_model.objects.filter(pk=pk).update(**cols, updated_at=now)
            continue
        missing.append(
            rollups_model(
                reseller_id=reseller,
                connection_id=connection_id,
                day=day,
                department_id=department_id,
                agent_id=agent_id,
                agent_key=str(agent_id or ""),
                **cols,
            )
        )
    rollups_model.objects.bulk_create(missing, batch_size=200)
    return {"tickets": counted, "rows": len(totals), "created": len(missing)}
