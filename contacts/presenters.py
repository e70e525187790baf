"""The strings the contact pages show, prepared once per page (numbers, documents, fields, history)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from accounts import documents, phones
from accounts.contact_fields import value_display, value_input
from accounts.models import Client, ClientChange, ContactField, Tag


def number(contact: Client) -> str:
    return phones.display(contact.phone) if contact.phone else contact.identity


def number_input(contact: Client) -> str:
    """The number as the edit form holds it: empty for a client known only by WhatsApp's user id."""
    return phones.display(contact.phone) if contact.phone else ""


def document(value: str) -> str:
    return documents.display(value)


@dataclass
class Row:
    pk: Any
    name: str
    number: str
    email: str
    document: str


def rows(contacts: list[Client]) -> list[Row]:
    return [
        Row(pk=c.pk, name=c.name or "—", number=number(c), email=c.email, document=document(c.document))
        for c in contacts
    ]


@dataclass
class FieldView:
    field: ContactField
    name: str  # the form input's name
    value: str  # as the page shows it
    input: str  # as the form's input holds it
    error: str = ""


def fields(contact: Client | None, tenant_fields: list[ContactField], *, posted=None, errors=None) -> list[FieldView]:
    values = (contact.custom_fields or {}) if contact is not None else {}
    out = []
    for cf in tenant_fields:
        name = f"cf_{cf.key}"
        stored = values.get(cf.key, "")
        typed = posted.get(name) if posted is not None and name in posted else None
        out.append(
            FieldView(
                field=cf,
                name=name,
                value=value_display(cf, stored),
                input=typed if typed is not None else value_input(cf, stored),
                error=(errors or {}).get(name, ""),
            )
        )
    return out


@dataclass
class TagChoice:
    tag: Tag
    on: bool


def tag_choices(all_tags: list[Tag], chosen: list[Tag]) -> list[TagChoice]:
    ids = {t.pk for t in chosen}
    return [TagChoice(tag=t, on=t.pk in ids) for t in all_tags]


def _labels() -> dict[str, str]:
    return {
        "created": _("Contato criado"),
        "name": _("Nome"),
        "phone": _("Número"),
        "email": _("E-mail"),
        "document": _("CPF/CNPJ"),
        "notes": _("Observações"),
        "tags": _("Etiquetas"),
    }


@dataclass
class Change:
    at: Any
    by: str
    source: str
    label: str
    old: str
    new: str


def history(changes: list[ClientChange], all_fields: list[ContactField]) -> list[Change]:
    labels = _labels()
    by_key = {f"custom:{cf.key}": cf for cf in all_fields}
    out = []
    for change in changes:
        old, new = change.old, change.new
        cf = by_key.get(change.field)
        if change.field == "phone":
            old, new = phones.display(old), phones.display(new)
        elif change.field == "document":
            old, new = documents.display(old), documents.display(new)
        elif cf is not None:
            old, new = value_display(cf, old), value_display(cf, new)
        label = cf.label if cf is not None else labels.get(change.field, change.field)
        out.append(
            Change(
                at=change.created_at,
                by=change.by.display_name if change.by_id and change.by else _("sistema"),
                source=change.get_source_display(),
                label=label,
                old=old,
                new=new,
            )
        )
    return out
