"""The writers of contacts (/contatos/): a person adds or edits a client of the tenant.

A contact is a Client. Its number is stored as digits with the country code, a Brazilian mobile with its
ninth digit (accounts.phones); a number is the tenant's once, whichever form it is typed in
(ContactExists, 409). Every field a person changes is recorded (ClientChange: who, when, old, new), a
new name also joins `previous_names` and is marked as set by a person, so the WhatsApp profile name never
replaces it. Each edit is one conditional write on the row as it was read (its `updated_at` and the old
values of what it changes): an edit that lost to another write reads again and retries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts import documents, phones
from accounts.contact_fields import FieldRejected, value_clean
from accounts.models import Client, ClientChange, ClientTag, ContactField, Tag
from accounts.services import client_change_record, client_most_recent, client_terms_index, link_set
from iaze.lib import clock

NAME_MAX = 200
NOTES_MAX = 5000
# The fields a contact form posts, by the Client field each one sets.
FORM_FIELDS = {"name": "name", "number": "phone", "email": "email", "document": "document", "notes": "notes"}
# The scalar fields an edit compares and writes (custom fields and tags are handled apart).
SCALARS = ("name", "phone", "email", "document", "notes")


class ContactRejected(ValueError):
    """Bad input: `errors` maps each form field to its reason (400). Nothing was written."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class ContactExists(Exception):
    """The tenant already has this number (in any of its forms): `contact` is that contact (409)."""

    def __init__(self, contact: Client):
        super().__init__(str(contact.pk))
        self.contact = contact


class ContactConflict(Exception):
    """The contact kept changing under the edit (409): nothing of this edit was written."""


@dataclass
class Cleaned:
    values: dict[str, str] = field(default_factory=dict)  # Client field -> normalized value
    custom: dict[str, str] = field(default_factory=dict)  # ContactField key -> normalized value
    errors: dict[str, str] = field(default_factory=dict)


def reason_of(exc: phones.PhoneRejected | documents.DocumentRejected) -> str:
    """The reason of a refused number or document, in the user's language."""
    text = _(exc.template)
    return text % exc.params if exc.params else text


def clean_name(raw: Any) -> str:
    return " ".join(str(raw or "").split())[:NAME_MAX]


def clean_email(raw: Any) -> str:
    email = str(raw or "").strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValueError(_("E-mail inválido.")) from None
    return email


def contact_fields_of(reseller_id) -> list[ContactField]:
    return list(ContactField.objects.filter(reseller_id=reseller_id, active=True).order_by("position", "label"))


def contact_clean(
    data: Mapping[str, Any], *, fields: Iterable[ContactField] = (), custom: Mapping[str, Any] | None = None
) -> Cleaned:
    """Check and normalize the posted fields that are present (a missing one is left as it is).

    `custom`: the posted custom values by key (only the tenant's active `fields` are read)."""
    out = Cleaned()
    for form_field, model_field in FORM_FIELDS.items():
        if form_field not in data:
            continue
        raw = data.get(form_field)
        try:
            if form_field == "name":
                value = clean_name(raw)
                if not value:
                    raise ValueError(_("Informe o nome."))
            elif form_field == "number":
                value = phones.normalize(str(raw or ""))
            elif form_field == "email":
                value = clean_email(raw)
            elif form_field == "document":
                value = documents.normalize(str(raw or ""))
            else:
                value = str(raw or "").strip()
                if len(value) > NOTES_MAX:
                    raise ValueError(_("As observações têm mais de %(n)d caracteres.") % {"n": NOTES_MAX})
        except (phones.PhoneRejected, documents.DocumentRejected) as exc:
            out.errors[form_field] = reason_of(exc)
            continue
        except ValueError as exc:
            out.errors[form_field] = str(exc)
            continue
        out.values[model_field] = value
    for cf in fields:
        if custom is None or cf.key not in custom:
            continue
        try:
            out.custom[cf.key] = value_clean(cf, custom[cf.key])
        except FieldRejected as exc:
            out.errors[f"cf_{cf.key}"] = f"{cf.label}: {exc.reason}"
    return out


def number_owners(reseller_id, numbers: Iterable[str]) -> dict[str, list[Client]]:
    """The tenant's clients holding each number in any of its forms, by the number's canonical form."""
    wanted = {phones.canonical(n) for n in numbers if n}
    forms = sorted({f for n in wanted for f in phones.br_variants(n)})
    out: dict[str, list[Client]] = {}
    if not forms:
        return out
    for start in range(0, len(forms), 1000):
        chunk = forms[start : start + 1000]
        qs = Client.objects.filter(reseller_id=reseller_id).filter(Q(identity__in=chunk) | Q(phone__in=chunk))
        for client in qs:
            keys = {phones.canonical(client.phone), phones.canonical(client.identity)} & wanted
            for key in keys:
                if client not in out.setdefault(key, []):
                    out[key].append(client)
    return out


def number_owner(reseller_id, number: str, *, exclude=None) -> Client | None:
    """The tenant's contact with this number (with or without the ninth digit), the most recent if two."""
    found = [c for c in number_owners(reseller_id, [number]).get(phones.canonical(number), []) if c.pk != exclude]
    return client_most_recent(found) if found else None


def stamp_after(previous) -> Any:
    """A write's `updated_at`: now, and always after the stamp it replaces (the next edit's condition)."""
    now = clock.now()
    if previous is not None and now <= previous:
        return previous + timedelta(milliseconds=1)
    return now


def _tags_of(client_id) -> dict:
    return {
        link.tag_id: link.tag.name
        for link in ClientTag.objects.filter(client_id=client_id, active=True).select_related("tag")
    }


def contact_tags_set(*, client: Client, tag_ids: Iterable, by, source: str) -> bool:
    """Make the contact's active tags exactly `tag_ids` (the tenant's active tags; others are ignored)."""
    wanted = {
        t.pk: t.name for t in Tag.objects.filter(reseller_id=client.reseller_id, active=True, pk__in=list(tag_ids))
    }
    current = _tags_of(client.pk)
    changed = False
    for tag_id in wanted.keys() - current.keys():
        changed |= link_set(ClientTag, client_id=client.pk, tag_id=tag_id, on=True)
    for tag_id in current.keys() - wanted.keys():
        changed |= link_set(ClientTag, client_id=client.pk, tag_id=tag_id, on=False)
    if changed:
        client_change_record(
            client,
            by=by,
            source=source,
            changes={"tags": (", ".join(sorted(current.values())), ", ".join(sorted(wanted.values())))},
        )
    return changed


def contact_create(
    *,
    reseller_id,
    by,
    data: Mapping[str, Any],
    custom: Mapping[str, Any] | None = None,
    tag_ids: Iterable = (),
    source: str = ClientChange.Source.PAGE,
    unnamed: bool = False,
) -> Client:
    """Add a contact: `name` and `number` required; `email`, `document`, `notes` and custom values optional.

    `unnamed`: the name may be left out (a conversation started from a typed number); the contact then
    takes the client's WhatsApp profile name when they answer, as a client who wrote first does.
    ContactRejected (400) with every reason; ContactExists (409) when the tenant has the number."""
    fields = contact_fields_of(reseller_id)
    if unnamed and not clean_name(data.get("name")):
        data = {k: v for k, v in data.items() if k != "name"}
    required = {"number": ""} if unnamed and "name" not in data else {"name": "", "number": ""}
    cleaned = contact_clean({**required, **data}, fields=fields, custom=custom)
    if cleaned.errors:
        raise ContactRejected(cleaned.errors)
    values = cleaned.values
    existing = number_owner(reseller_id, values["phone"])
    if existing is not None:
        raise ContactExists(existing)
    client = Client(
        reseller_id=reseller_id,
        identity=values["phone"],
        name_set_by_agent=bool(values.get("name")),
        custom_fields={k: v for k, v in cleaned.custom.items() if v},
        **values,
    )
    try:
        with transaction.atomic():
            client.save(force_insert=True)
            client_terms_index(client)
    except IntegrityError:
        # The same number added a moment ago (another person, or the client's first message).
        owner = number_owner(reseller_id, values["phone"])
        if owner is None:
            raise
        raise ContactExists(owner) from None
    client_change_record(client, by=by, source=source, changes={"created": ("", client.display_name)})
    if tag_ids:
        contact_tags_set(client=client, tag_ids=tag_ids, by=by, source=source)
    return client


def contact_changes(current: Client, cleaned: Cleaned) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """(what to write, the history) of an edit against the row as read."""
    write: dict[str, Any] = {}
    history: dict[str, tuple[str, str]] = {}
    for name in SCALARS:
        if name in cleaned.values and cleaned.values[name] != getattr(current, name):
            write[name] = cleaned.values[name]
            history[name] = (getattr(current, name), cleaned.values[name])
    custom = dict(current.custom_fields or {})
    for key, value in cleaned.custom.items():
        if value != custom.get(key, ""):
            history[f"custom:{key}"] = (custom.get(key, ""), value)
            if value:
                custom[key] = value
            else:
                custom.pop(key, None)
    if custom != (current.custom_fields or {}):
        write["custom_fields"] = custom
    if "name" in write:
        old = current.name
        write["previous_names"] = [*(current.previous_names or []), old] if old else list(current.previous_names or [])
        write["name_set_by_agent"] = True
    if "phone" in write and current.identity.isdigit():
        # A number-based identity follows the number; the provider's id for the old number no longer applies.
        write["identity"] = write["phone"]
        write["wa_id"] = ""
    return write, history


def contact_edit(
    *,
    client: Client,
    by,
    data: Mapping[str, Any],
    custom: Mapping[str, Any] | None = None,
    tag_ids: Iterable | None = None,
    source: str = ClientChange.Source.PAGE,
) -> dict[str, tuple[str, str]]:
    """Edit a contact with the posted fields that are present. Returns the history written (empty when
    nothing changed). ContactRejected (400); ContactExists (409) when another contact has the number;
    ContactConflict (409) when the contact kept changing under the edit."""
    fields = contact_fields_of(client.reseller_id)
    if "number" in data and not str(data["number"] or "").strip() and not client.phone:
        # A client known only by WhatsApp's user id: the form may leave its number empty.
        data = {k: v for k, v in data.items() if k != "number"}
    cleaned = contact_clean(data, fields=fields, custom=custom)
    if "name" in data and "name" not in cleaned.errors and not cleaned.values.get("name"):
        cleaned.errors["name"] = _("Informe o nome.")
    if cleaned.errors:
        raise ContactRejected(cleaned.errors)
    written: dict[str, tuple[str, str]] = {}
    for _attempt in range(3):
        current = Client.objects.filter(pk=client.pk).first()
        if current is None:
            raise ContactConflict(client)
        write, history = contact_changes(current, cleaned)
        if not write:
            break
        if "phone" in write:
            owner = number_owner(current.reseller_id, write["phone"], exclude=current.pk)
            if owner is not None:
                raise ContactExists(owner)
        condition = {name: getattr(current, name) for name in (*SCALARS, "identity", "wa_id") if name in write}
        try:
            with transaction.atomic():
                won = Client.objects.filter(pk=current.pk, updated_at=current.updated_at, **condition).update(
                    **write, updated_at=stamp_after(current.updated_at)
                )
        except IntegrityError:
            owner = number_owner(current.reseller_id, write["phone"], exclude=current.pk) if "phone" in write else None
            if owner is None:
                raise
            raise ContactExists(owner) from None
        if won == 1:
            for name, value in write.items():
                setattr(current, name, value)
                setattr(client, name, value)
            client_change_record(current, by=by, source=source, changes=history)
            client_terms_index(current)
            written = history
            break
    else:
        raise ContactConflict(client)
    if tag_ids is not None and contact_tags_set(client=client, tag_ids=tag_ids, by=by, source=source):
        written = {**written, "tags": ("", "")}
    return written
