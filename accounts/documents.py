"""CPF and CNPJ: normalized, check digits verified. Pure functions, no Django.

The CNPJ may be alphanumeric (the format the Receita Federal issues from July 2026): letters A-Z and
digits in its first 12 positions, two check digits at the end, computed like the numeric one with each
character worth `ord(c) - 48` (so digits keep their value and A is 17). A numeric CNPJ is the same
computation over digits only.
"""

from __future__ import annotations

import re

CPF_LEN, CNPJ_LEN = 11, 14
_PUNCTUATION = re.compile(r"[\s./\-]")
_CNPJ = re.compile(r"^[0-9A-Z]{12}[0-9]{2}$")
_CNPJ_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def gettext_noop(text: str) -> str:
    """Marks a message for translation (the caller translates `template`); this module imports no Django."""
    return text


class DocumentRejected(ValueError):
    """Not a valid CPF or CNPJ: `reason` in Portuguese, `template` for a translation (as PhoneRejected)."""

    def __init__(self, template: str):
        self.template = template
        self.params: dict[str, str] = {}
        self.reason = template
        super().__init__(template)


def _cpf_digit(digits: str) -> int:
    weight = len(digits) + 1
    total = sum(int(d) * (weight - i) for i, d in enumerate(digits))
    return total * 10 % 11 % 10


def cpf_valid(cpf: str) -> bool:
    if len(cpf) != CPF_LEN or not cpf.isdigit() or len(set(cpf)) == 1:
        return False
    return _cpf_digit(cpf[:9]) == int(cpf[9]) and _cpf_digit(cpf[:10]) == int(cpf[10])


def _cnpj_digit(chars: str) -> int:
    weights = _CNPJ_WEIGHTS[-len(chars) :]
    remainder = sum((ord(c) - 48) * w for c, w in zip(chars, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def cnpj_valid(cnpj: str) -> bool:
    if not _CNPJ.match(cnpj) or len(set(cnpj)) == 1:
        return False
    return _cnpj_digit(cnpj[:12]) == int(cnpj[12]) and _cnpj_digit(cnpj[:13]) == int(cnpj[13])


def normalize(raw: str) -> str:
    """The CPF (11 digits) or CNPJ (14 characters, upper case) without punctuation; "" for empty input.

    DocumentRejected with the reason for anything else, or for wrong check digits."""
    text = _PUNCTUATION.sub("", raw or "").upper()
    if not text:
        return ""
    if text.isdigit():
        if len(text) == CPF_LEN:
            if not cpf_valid(text):
                raise DocumentRejected(gettext_noop("CPF inválido: os dígitos verificadores não conferem."))
            return text
        if len(text) == CNPJ_LEN:
            if not cnpj_valid(text):
                raise DocumentRejected(gettext_noop("CNPJ inválido: os dígitos verificadores não conferem."))
            return text
        raise DocumentRejected(gettext_noop("Um CPF tem 11 dígitos e um CNPJ tem 14."))
    if len(text) != CNPJ_LEN or not _CNPJ.match(text):
        raise DocumentRejected(
            gettext_noop("Documento inválido: um CNPJ alfanumérico tem 12 letras ou dígitos e 2 dígitos verificadores.")
        )
    if not cnpj_valid(text):
        raise DocumentRejected(gettext_noop("CNPJ inválido: os dígitos verificadores não conferem."))
    return text


def kind(document: str) -> str:
    return {CPF_LEN: "CPF", CNPJ_LEN: "CNPJ"}.get(len(document or ""), "")


def display(document: str) -> str:
    """123.456.789-09; 12.ABC.345/01DE-35."""
    d = document or ""
    if len(d) == CPF_LEN:
        return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"
    if len(d) == CNPJ_LEN:
        return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"
    return d
