"""The admin's weekly grid for business hours and its holiday list, over the stored JSON (accounts.hours).

A day is one text box: "08:00-12:00, 13:00-18:00"; empty means closed that day, and a grid empty on
every day means always open (the stored {} of before). A posting with the whole JSON under the field's
own name (the format typed before the grid) is still read, so scripts and old forms keep working.
"""

from __future__ import annotations

import json
import re
from itertools import pairwise

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.hours import WEEKDAYS, holiday_valid, validate_business_hours

DAY_NAMES = (
    _("segunda"),
    _("terça"),
    _("quarta"),
    _("quinta"),
    _("sexta"),
    _("sábado"),
    _("domingo"),
)
_PIECE = re.compile(r"^(\d{1,2}):(\d\d)\s*(?:-|–|—|a|às)\s*(\d{1,2}):(\d\d)$")


class WeekGridWidget(forms.MultiWidget):
    template_name = "accounts/widgets/week_grid.html"

    def __init__(self, attrs=None):
        boxes = [forms.TextInput(attrs={"placeholder": "08:00-12:00, 13:00-18:00", "size": 34}) for _d in WEEKDAYS]
        super().__init__(boxes, attrs)

    def decompress(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value or "{}")
            except ValueError:
                return [""] * len(WEEKDAYS)
        value = value if isinstance(value, dict) else {}
        return [", ".join(f"{iv[0]}-{iv[1]}" for iv in value.get(day) or () if len(iv) == 2) for day in WEEKDAYS]

    def value_from_datadict(self, data, files, name):
        if name in data:  # the JSON typed before the grid existed
            return data[name]
        return super().value_from_datadict(data, files, name)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and super().value_omitted_from_data(data, files, name)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for label, sub in zip(DAY_NAMES, context["widget"]["subwidgets"], strict=True):
            sub["day"] = label
        return context


def _hhmm(hours: str, minutes: str) -> str | None:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return "24:00"
    return f"{h:02d}:{m:02d}" if h < 24 and m < 60 else None


def parse_day(label, text: str) -> list[list[str]]:
    """ "08:00-12:00, 13:00-18:00" → [["08:00", "12:00"], ["13:00", "18:00"]], or a ValidationError saying why."""
    text = (text or "").strip()
    if not text:
        return []
    intervals = []
    for piece in re.split(r"[,;]", text):
        piece = piece.strip()
        if not piece:
            raise ValidationError(_("%(day)s: há um intervalo vazio (sobrou uma vírgula).") % {"day": label})
        match = _PIECE.match(piece)
        start = match and _hhmm(match[1], match[2])
        end = match and _hhmm(match[3], match[4])
        if not (start and end) or start == "24:00":
            raise ValidationError(
                _('%(day)s: "%(piece)s" não é um intervalo (use 08:00-12:00).') % {"day": label, "piece": piece}
            )
        if start == end:
            raise ValidationError(
                _("%(day)s: o intervalo %(piece)s está vazio (início igual ao fim).") % {"day": label, "piece": piece}
            )
        if end < start:
            raise ValidationError(
                _(
                    "%(day)s: o fim (%(end)s) vem antes do início (%(start)s); um turno que passa da meia-noite "
                    "vira dois intervalos, um em cada dia."
                )
                % {"day": label, "start": start, "end": end}
            )
        intervals.append([start, end])
    intervals.sort()
    for before, after in pairwise(intervals):
        if after[0] < before[1]:
            raise ValidationError(
                _("%(day)s: os intervalos %(a)s e %(b)s se sobrepõem.")
                % {"day": label, "a": "-".join(before), "b": "-".join(after)}
            )
    return intervals


class WeekGridField(forms.Field):
    widget = WeekGridWidget

    def to_python(self, value):
        if value in (None, ""):
            return {}
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValidationError(_("Use um objeto JSON por dia da semana."), code="invalid") from None
        errors, hours = [], {}
        for day, label, text in zip(WEEKDAYS, DAY_NAMES, value, strict=False):
            try:
                intervals = parse_day(label, text)
            except ValidationError as error:
                errors.append(error)
                continue
            if intervals:
                hours[day] = intervals
        if errors:
            raise ValidationError(errors)
        return hours

    def validate(self, value):
        super().validate(value)
        validate_business_hours(value)

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True


_HOLIDAY = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?$")


class HolidaysField(forms.CharField):
    """One date a line: "25/12" every year, "03/04/2026" that date only; stored as "12-25" / "2026-04-03"."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 20})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join("/".join(reversed(item.split("-"))) for item in value)
        return value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        holidays: list[str] = []
        for line in (super().to_python(value) or "").splitlines():
            line = line.strip()
            if not line:
                continue
            match = _HOLIDAY.match(line)
            item = match and (
                f"{match[3]}-{int(match[2]):02d}-{int(match[1]):02d}"
                if match[3]
                else f"{int(match[2]):02d}-{int(match[1]):02d}"
            )
            if not item or not holiday_valid(item):
                raise ValidationError(
                    _('"%(line)s" não é uma data (use 25/12 para todo ano ou 03/04/2026 para uma vez).')
                    % {"line": line}
                )
            if item not in holidays:
                holidays.append(item)
        return sorted(holidays)

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or [])
        except ValidationError:
            return True
