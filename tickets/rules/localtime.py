"""A ticket's moments in its reseller's time zone, stamped once by the services for the reports.

The reports group tickets per local day and per hour of the week. Converting every row's UTC time in
the query (Trunc/Extract with a tzinfo) costs one conversion per row on SQLite and defeats the
indexes; so the services store the local day (and the hour of the week, 0 = Monday 00h … 167 =
Sunday 23h) in the same write that opens or closes the ticket, and the reports group by these plain
columns. The zone is the reseller's at the moment of the write (ResellerConfig.timezone).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from accounts.models import ResellerConfig

DEFAULT_TIMEZONE = "America/Sao_Paulo"
HOURS_PER_WEEK = 168


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def tenant_timezone(reseller_id: Any) -> ZoneInfo:
    """The reseller's configured zone (one small read), or the default one."""
    return zone(ResellerConfig.objects.filter(reseller_id=reseller_id).values_list("timezone", flat=True).first())


def hour_of_week(local: datetime) -> int:
    """0 = Monday 00:00–00:59 … 167 = Sunday 23:00–23:59 (ISO weekday order)."""
    return (local.isoweekday() - 1) * 24 + local.hour


def weekday_hour(how: int) -> tuple[int, int]:
    """The inverse of hour_of_week: (ISO weekday 1–7, hour 0–23)."""
    return how // 24 + 1, how % 24


def opened_stamps(at: datetime, tz: ZoneInfo) -> dict[str, date | int]:
    local = at.astimezone(tz)
    return {"opened_local_date": local.date(), "opened_local_how": hour_of_week(local)}


def closed_stamps(at: datetime, tz: ZoneInfo) -> dict[str, date]:
    return {"closed_local_date": at.astimezone(tz).date()}
