"""Phone numbers as Brazil writes them: one canonical form of digits with the country code.

Pure functions, no Django. `normalize` turns what a person types (`+55 (11) 98765-4321`, `11987654321`,
`5511987654321`, `(11) 8765-4321`) into digits with the country code, or refuses it with a reason.

A Brazilian mobile number has nine local digits starting with 9 since 2016, but WhatsApp's `wa_id` still
leaves the ninth digit out for many lines: `553187654321` and `5531987654321` are the same phone.
`br_variants` gives both forms, so a lookup finds the client whichever form was stored, and `canonical`
picks the one a new row stores (with the ninth digit). Local numbers of eight digits starting with 2-5
are landlines (no variant); starting with 6-9, mobiles written without the ninth digit.
"""

from __future__ import annotations

import re

BR = "55"
_ALLOWED = re.compile(r"^[\d\s()+\-./]+$")
_E164_MAX = 15
_FOREIGN_MIN = 8


def gettext_noop(text: str) -> str:
    """Marks a message for translation (the caller translates `template`); this module imports no Django."""
    return text


class PhoneRejected(ValueError):
    """Input that is not a phone number. `reason`: why, in Portuguese; `template` and `params`: the same for
    a translation (gettext(template) % params)."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        self.reason = template % params if params else template
        super().__init__(self.reason)


def digits_of(text: str) -> str:
    return "".join(c for c in text or "" if c.isdigit())


def _ddd_ok(ddd: str) -> bool:
    return len(ddd) == 2 and "0" not in ddd


def _br_national(national: str) -> str:
    """Check a Brazilian national number (DDD + local) and return it with the ninth digit where it belongs."""
    ddd, local = national[:2], national[2:]
    if not _ddd_ok(ddd):
        raise PhoneRejected(gettext_noop("DDD inválido: %(ddd)s."), ddd=ddd)
    if len(local) == 9:
        if local[0] != "9":
            raise PhoneRejected(gettext_noop("Um celular com 9 dígitos começa com 9."))
        return national
    if len(local) == 8:
        if local[0] in "2345":
            return national  # a landline
        if local[0] in "6789":
            return ddd + "9" + local  # a mobile written without its ninth digit
        raise PhoneRejected(gettext_noop("Um número local de 8 dígitos começa com 2 a 9."))
    raise PhoneRejected(gettext_noop("Depois do DDD, o número tem 8 ou 9 dígitos."))


def normalize(raw: str) -> str:
    """Digits with the country code (55 assumed when there is none); PhoneRejected with the reason."""
    # A leading apostrophe is a spreadsheet's mark for "text" (an exported +1 650… comes back so).
    text = (raw or "").strip().lstrip("'").strip()
    if not text:
        raise PhoneRejected(gettext_noop("Informe o número."))
    if not _ALLOWED.match(text):
        raise PhoneRejected(gettext_noop("O número só pode ter dígitos, espaços, parênteses, hífen, ponto e +."))
    if "+" in text[1:]:
        raise PhoneRejected(gettext_noop("O + só vale no começo do número."))
    digits = digits_of(text)
    international = text.startswith("+")
    if not international and digits.startswith("00"):
        digits, international = digits[2:], True  # 00 + country code, the international prefix
    if international:
        if digits.startswith(BR):
            national = digits[2:]
            if len(national) not in (10, 11):
                raise PhoneRejected(gettext_noop("Um número do Brasil tem DDD e 8 ou 9 dígitos."))
            return BR + _br_national(national)
        if not _FOREIGN_MIN <= len(digits) <= _E164_MAX:
            raise PhoneRejected(gettext_noop("Um número internacional tem de 8 a 15 dígitos com o código do país."))
        return digits
    if len(digits) in (11, 12) and digits.startswith("0"):
        digits = digits[1:]  # the trunk prefix of a national call: (011) 98765-4321
    if len(digits) in (10, 11):
        return BR + _br_national(digits)
    if len(digits) in (12, 13) and digits.startswith(BR):
        return BR + _br_national(digits[2:])
    if len(digits) in (8, 9):
        raise PhoneRejected(gettext_noop("Informe o DDD (e o código do país, se não for do Brasil)."))
    raise PhoneRejected(
        gettext_noop("Número com quantidade de dígitos inválida; use + e o código do país se não for do Brasil.")
    )


def _br_parts(digits: str) -> tuple[str, str] | None:
    """(DDD, local) of a stored Brazilian number, or None."""
    if digits.startswith(BR) and len(digits) in (12, 13) and _ddd_ok(digits[2:4]):
        return digits[2:4], digits[4:]
    return None


def br_variants(digits: str) -> set[str]:
    """The forms of one phone: a Brazilian mobile with and without its ninth digit; anything else as is."""
    digits = digits_of(digits)
    if not digits:
        return set()
    parts = _br_parts(digits)
    if parts is None:
        return {digits}
    ddd, local = parts
    if len(local) == 9 and local[0] == "9" and local[1] in "6789":
        return {digits, BR + ddd + local[1:]}
    if len(local) == 8 and local[0] in "6789":
        return {digits, BR + ddd + "9" + local}
    return {digits}


def canonical(digits: str) -> str:
    """The stored form: a Brazilian mobile with its ninth digit; every other number as is (digits only)."""
    digits = digits_of(digits)
    return max(br_variants(digits), key=len) if digits else ""


def display(digits: str) -> str:
    """`+55 31 98765-4321`, `+55 31 3265-4321`; other countries `+<digits>`; empty stays empty."""
    digits = digits_of(digits)
    if not digits:
        return ""
    parts = _br_parts(digits)
    if parts is None:
        return "+" + digits
    ddd, local = parts
    return f"+55 {ddd} {local[:-4]}-{local[-4:]}"
