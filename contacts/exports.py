"""The contacts export: one row per contact of the user's tenant, read in keyset pages of PAGE rows.

Columns: nome, numero, email, documento, observacoes, etiquetas (separated by ` | `), then one column per
custom field (its key), so the file imports back as it is (accounts.contact_import). Numbers are written
as `55 31 98765-4321` (a spreadsheet keeps it as text, never as 5,53E+12); documents and custom values
as the pages show them.
"""

from __future__ import annotations

from collections.abc import Iterator

from accounts import documents, phones
from accounts.contact_fields import value_display
from accounts.models import ClientTag, ContactField, Reseller, Tag
from contacts.selectors import contact_queryset_for

PAGE = 1000
HEADER = ["nome", "numero", "email", "documento", "observacoes", "etiquetas"]
TAG_JOIN = " | "


def export_number(contact) -> str:
    if not contact.phone:
        return ""
    shown = phones.display(contact.phone)
    return shown[1:] if shown.startswith("+55 ") else shown


def contact_rows(user) -> tuple[list[str], Iterator[list]]:
    contacts = contact_queryset_for(user)
    if user.reseller_id is None:  # an installation admin: every tenant
        reseller_ids = list(Reseller.objects.values_list("pk", flat=True))
    else:
        reseller_ids = [user.reseller_id]
    fields: dict[str, ContactField] = {}
    for cf in ContactField.objects.filter(reseller_id__in=reseller_ids, active=True).order_by("position", "label"):
        fields.setdefault(cf.key, cf)
    tag_names = dict(Tag.objects.filter(reseller_id__in=reseller_ids).values_list("pk", "name"))
    header = [*HEADER, *fields]

    def rows() -> Iterator[list]:
        after = None
        while True:
            page_qs = contacts if after is None else contacts.filter(pk__gt=after)
            page = list(page_qs.order_by("pk")[:PAGE])
            if not page:
                return
            links: dict = {}
            for client_id, tag_id in ClientTag.objects.filter(
                client_id__in=[c.pk for c in page], active=True
            ).values_list("client_id", "tag_id"):
                links.setdefault(client_id, []).append(tag_names.get(tag_id, ""))
            for c in page:
                values = c.custom_fields or {}
                yield [
                    c.name,
                    export_number(c),
                    c.email,
                    documents.display(c.document),
                    c.notes,
                    TAG_JOIN.join(sorted(n for n in links.get(c.pk, []) if n)),
                    *(value_display(cf, values.get(key, "")) for key, cf in fields.items()),
                ]
            after = page[-1].pk

    return header, rows()
