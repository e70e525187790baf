"""Business hours: their format, their validation, and whether a moment is inside them.

Stored format (unchanged since the JSON field): {"mon": [["08:00", "12:00"], ["13:00", "18:00"]], ...},
local times in the tenant's time zone. The admin edits it as a weekly grid (accounts.hours_form).
Holidays: a list of "MM-DD" (every year) or "YYYY-MM-DD" (that date only); a holiday is closed all day.
A department with its own hours (Department.own_hours) uses its grid instead of the tenant's; the holidays
and the time zone are always the tenant's.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_YEARLY = re.compile(r"^\d\d-\d\d$")
_ONCE = re.compile(r"^\d{4}-\d\d-\d\d$")


def _interval_ok(interval) -> bool:
    return bool(
        isinstance(interval, list | tuple)
        and len(interval) == 2
        and all(isinstance(t, str) for t in interval)
        and _HHMM.match(interval[0])
        and (_HHMM.match(interval[1]) or interval[1] == "24:00")
        and interval[0] < interval[1]
    )


def validate_business_hours(hours) -> None:
    """Raise ValidationError unless `hours` is {"mon": [["08:00", "18:00"], ...], ...}.

    Days are mon..sun; a missing day is closed all day; an empty mapping means always open.
    Intervals are "HH:MM" local times in the reseller's timezone with start < end ("24:00" may end a day),
    not overlapping one another; a shift past midnight is written as two intervals, one on each day.
    """
    if not isinstance(hours, dict):
        raise ValidationError(_("Use um objeto JSON por dia da semana."), code="invalid")
    for day, intervals in hours.items():
        if day not in WEEKDAYS:
            raise ValidationError(
                _("Dia desconhecido: %(day)s (use mon, tue, wed, thu, fri, sat, sun).") % {"day": day}, code="invalid"
            )
        if not isinstance(intervals, list):
            raise ValidationError(_("%(day)s: use uma lista de intervalos.") % {"day": day}, code="invalid")
        for interval in intervals:
            if not _interval_ok(interval):
                raise ValidationError(
                    _('%(day)s: intervalo inválido %(interval)s (use ["08:00", "18:00"]).')
                    % {"day": day, "interval": interval},
                    code="invalid",
                )
        ordered = sorted(intervals)
        for before, after in pairwise(ordered):
            if after[0] < before[1]:
                raise ValidationError(
                    _("%(day)s: os intervalos %(a)s e %(b)s se sobrepõem.")
                    % {"day": day, "a": "–".join(before), "b": "–".join(after)},
                    code="overlap",
                )


def holiday_valid(value) -> bool:
    if not isinstance(value, str) or not (_YEARLY.match(value) or _ONCE.match(value)):
        return False
    try:
        date.fromisoformat(value if _ONCE.match(value) else f"2000-{value}")  # 2000 is a leap year: 02-29 passes
    except ValueError:
        return False
    return True


def validate_holidays(holidays) -> None:
    if not isinstance(holidays, list) or not all(holiday_valid(h) for h in holidays):
        raise ValidationError(_('Use datas "MM-DD" (todo ano) ou "AAAA-MM-DD" (uma vez).'), code="invalid")


def is_holiday(holidays, day: date) -> bool:
    return day.isoformat() in (holidays or ()) or day.strftime("%m-%d") in (holidays or ())


def _zone(config) -> ZoneInfo:
    try:
        return ZoneInfo(config.timezone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        # A bad timezone must not stop the message from being stored: fall back to the installation's.
        return ZoneInfo(settings.TIME_ZONE)


def hours_of(config, department=None) -> dict:
    """The weekly grid that applies: the department's own when it keeps other hours, else the tenant's."""
    if department is not None and getattr(department, "own_hours", False):
        return department.business_hours or {}
    return (config.business_hours or {}) if config else {}


def is_open_at(config, at: datetime, department=None) -> bool:
    """A holiday is closed all day; otherwise no hours configured means always open."""
    if config is None:
        return True
    local = at.astimezone(_zone(config))
    if is_holiday(config.holidays, local.date()):
        return False
    hours = hours_of(config, department)
    if not hours:
        return True
    now_hm = local.strftime("%H:%M")
    return any(
        isinstance(iv, list | tuple) and len(iv) == 2 and iv[0] <= now_hm < iv[1]
        for iv in hours.get(WEEKDAYS[local.weekday()], [])
    )
