"""`{{ client.phone|phone }}`: a stored number (digits with the country code) as people read it,
`+55 31 98765-4321` (accounts.phones.display); what is not a number (an identity, empty) is left as it is."""

from __future__ import annotations

from django import template

from accounts import phones

register = template.Library()


@register.filter(name="phone")
def phone(value: object) -> str:
    text = "" if value is None else str(value)
    digits = phones.digits_of(text)
    if not digits or digits != text.lstrip("+"):
        return text  # an identity (`lid:…`) or anything not made of digits stays as stored
    return phones.display(digits)
