"""A reseller's business hours: their format, their validation, and whether a moment is inside them.

Format: {"mon": [["08:00", "18:00"], ...], ...}, local times in the reseller's time zone.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def validate_business_hours(hours) -> None:
    """Raise ValidationError unless `hours` is {"mon": [["08:00", "18:00"], ...], ...}.

    Days are mon..sun; a missing day is closed all day; an empty mapping means always open.
    Intervals are "HH:MM" local times in the reseller's timezone with start < end ("24:00" may end a day);
    a shift past midnight is written as two intervals, one on each day.
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
            ok = (
                isinstance(interval, list | tuple)
                and len(interval) == 2
                and all(isinstance(t, str) for t in interval)
                and _HHMM.match(interval[0])
                and (_HHMM.match(interval[1]) or interval[1] == "24:00")
                and interval[0] < interval[1]
            )
            if not ok:
                raise ValidationError(
                    _('%(day)s: intervalo inválido %(interval)s (use ["08:00", "18:00"]).')
                    % {"day": day, "interval": interval},
                    code="invalid",
                )


def _zone(config) -> ZoneInfo:
    try:
        return ZoneInfo(config.timezone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        # A bad timezone must not stop the message from being stored: fall back to the installation's.
        return ZoneInfo(settings.TIME_ZONE)


def is_open_at(config, at: datetime) -> bool:
    """Business hours as {"mon": [["08:00", "18:00"]], ...}; no hours configured means always open."""
    hours = (config.business_hours or {}) if config else {}
    if not hours:
        return True
    local = at.astimezone(_zone(config))
    now_hm = local.strftime("%H:%M")
    return any(
        isinstance(iv, list | tuple) and len(iv) == 2 and iv[0] <= now_hm < iv[1]
        for iv in hours.get(WEEKDAYS[local.weekday()], [])
    )
