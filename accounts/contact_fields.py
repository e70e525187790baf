"""The tenant's own contact fields (ContactField): keys, and values checked and normalized by kind.

Values are stored as text in Client.custom_fields, the same on every profile:
- text: as typed (spaces trimmed), at most TEXT_MAX characters;
- number: a plain decimal, `1234.5` (typed `1.234,5`, `1234,5` or `1234.5`);
- date: ISO `2026-03-31` (typed `31/03/2026` or `2026-03-31`);
- choice: one of the field's options, as the field spells it (typed in any case or accents).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from accounts.models import ContactField
from accounts.search import fold

TEXT_MAX = 500
KEY_MAX = 40
_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class FieldRejected(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def field_key(label: str) -> str:
    """'Data de vencimento' → 'data_de_vencimento': the column name in CSV files."""
    return re.sub(r"[^a-z0-9]+", "_", fold(label)).strip("_")[:KEY_MAX]


def _number(raw: str) -> str:
    text = raw.replace(" ", "")
    if "," in text and "." in text:
        # The last separator is the decimal one: 1.234,5 (pt-BR) or 1,234.5.
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal_sep == "," else ",", "").replace(",", ".")
    elif "," in text:
        text = text.replace(",", ".")
    elif _THOUSANDS.match(text):
        text = text.replace(".", "")  # 1.234 is a thousand in pt-BR
    if not _NUMBER.match(text):
        raise FieldRejected(_("não é um número"))
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldRejected(_("não é um número")) from None
    out = format(value.normalize(), "f")
    return "0" if out in ("-0", "") else out


def _date(raw: str) -> str:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(raw, pattern).date().isoformat()
        except ValueError:
            continue
    raise FieldRejected(_("não é uma data (use dd/mm/aaaa)"))


def value_clean(field: ContactField, raw) -> str:
    """The stored form of a value, "" when empty; FieldRejected with the reason (without the field's name)."""
    text = " ".join(str(raw if raw is not None else "").split())
    if not text:
        return ""
    if field.kind == ContactField.Kind.NUMBER:
        return _number(text)
    if field.kind == ContactField.Kind.DATE:
        return _date(text)
    if field.kind == ContactField.Kind.CHOICE:
        wanted = fold(text)
        for option in field.choices or []:
            if fold(str(option)) == wanted:
                return str(option)
        options = ", ".join(str(o) for o in field.choices or [])
        raise FieldRejected(_("não é uma das opções (%(options)s)") % {"options": options})
    if len(text) > TEXT_MAX:
        raise FieldRejected(_("tem mais de %(n)d caracteres") % {"n": TEXT_MAX})
    return text


def value_display(field: ContactField, value: str) -> str:
    """How a page shows a stored value: 1.234,5; 31/03/2026."""
    if not value:
        return ""
    if field.kind == ContactField.Kind.NUMBER:
        whole, _sep, frac = value.partition(".")
        sign = "-" if whole.startswith("-") else ""
        grouped = f"{int(whole.lstrip('-') or 0):,}".replace(",", ".")
        return f"{sign}{grouped}" + (f",{frac}" if frac else "")
    if field.kind == ContactField.Kind.DATE:
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return value


def value_input(field: ContactField, value: str) -> str:
    """A stored value as an input shows it (dates as the browser's date input wants them: ISO)."""
    if field.kind == ContactField.Kind.NUMBER:
        return value.replace(".", ",")
    return value or ""
