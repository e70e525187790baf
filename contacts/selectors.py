"""What the contact pages read: the user's contacts, one contact, its tickets, tags, fields and history.

Every user of a tenant (agents too) sees every client of the tenant, whichever department served it; an
installation admin sees every tenant's. The tickets listed on a contact follow the ticket rules
(tickets.reads.selectors.ticket_queryset_for): an agent sees those of its departments and those it holds or held.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Client, ClientChange, ClientTag, ContactField, ContactImport, Reseller, Tag, User
from contacts.search import contact_match
from tickets.models import Ticket
from tickets.reads.selectors import ticket_queryset_for

PAGE_SIZE = 25
TICKETS_SHOWN = 50
HISTORY_SHOWN = 100


def contact_queryset_for(user) -> QuerySet[Client]:
    if not user.is_authenticated or not user.is_active:
        return Client.objects.none()
    if user.is_admin and user.reseller_id is None:
        return Client.objects.all()
    if user.reseller_id is None:
        return Client.objects.none()
    return Client.objects.filter(reseller_id=user.reseller_id)


def contact_get_for(user, pk) -> Client:
    """One contact of the user's tenant; 404 for another tenant's (or a made-up id)."""
    contact = contact_queryset_for(user).filter(pk=pk).first()
    if contact is None:
        raise Http404("Contato não encontrado.")
    return contact


def may_export(user) -> bool:
    """A whole contact list is personal data: resellers and admins only."""
    return bool(user.is_authenticated and user.is_active and (user.is_admin or user.role == User.Role.RESELLER))


def tenant_choices(user) -> list[Reseller]:
    """The tenants an installation admin adds contacts to (empty for everyone else: their own)."""
    if user.is_admin and user.reseller_id is None:
        return list(Reseller.objects.filter(active=True).order_by("name"))
    return []


@dataclass
class Page:
    items: list[Client]
    next_cursor: str


def _cursor_of(contact: Client) -> str:
    return f"{contact.updated_at.isoformat()}|{contact.pk}"


def _after(qs: QuerySet[Client], cursor: str) -> QuerySet[Client]:
    """Keyset step on (updated_at DESC, id DESC): the list's index order, at any depth."""
    at_text, _sep, pk_text = (cursor or "").partition("|")
    try:
        at, pk = datetime.fromisoformat(at_text), uuid.UUID(pk_text)
    except ValueError:
        return qs
    return qs.filter(Q(updated_at__lte=at) & (Q(updated_at__lt=at) | Q(pk__lt=pk)))


def contact_list_for(user, *, q: str = "", cursor: str = "", limit: int = PAGE_SIZE) -> Page:
    """One page of the user's contacts, most recently touched first, matching `q` when given."""
    qs = contact_queryset_for(user)
    if q.strip():
        match = contact_match(q, reseller_id=user.reseller_id)
        qs = qs.filter(match) if match is not None else qs.none()
    qs = _after(qs, cursor).order_by("-updated_at", "-pk")
    rows = list(
        qs.only("id", "reseller_id", "name", "phone", "identity", "email", "document", "updated_at")[: limit + 1]
    )
    return Page(items=rows[:limit], next_cursor=_cursor_of(rows[limit - 1]) if len(rows) > limit else "")


def contact_tickets_for(user, contact: Client) -> list[Ticket]:
    return list(
        ticket_queryset_for(user)
        .filter(client_id=contact.pk)
        .select_related("department", "agent", "connection")
        .order_by("-created_at")[:TICKETS_SHOWN]
    )


def contact_tags(contact: Client) -> list[Tag]:
    tag_ids = list(ClientTag.objects.filter(client_id=contact.pk, active=True).values_list("tag_id", flat=True))
    return list(Tag.objects.filter(pk__in=tag_ids).order_by("name"))


def tenant_tags(reseller_id) -> list[Tag]:
    return list(Tag.objects.filter(reseller_id=reseller_id, active=True).order_by("name"))


def tenant_fields(reseller_id) -> list[ContactField]:
    return list(ContactField.objects.filter(reseller_id=reseller_id, active=True).order_by("position", "label"))


def contact_history(contact: Client) -> list[ClientChange]:
    return list(
        ClientChange.objects.filter(client_id=contact.pk).select_related("by").order_by("-created_at")[:HISTORY_SHOWN]
    )


def import_get_for(user, pk) -> ContactImport:
    """An import of the user's tenant (its lines left out); 404 for another tenant's."""
    qs = ContactImport.objects.defer("lines")
    if not (user.is_admin and user.reseller_id is None):
        qs = qs.filter(reseller_id=user.reseller_id) if user.reseller_id else qs.none()
    found = qs.filter(pk=pk).first()
    if found is None:
        raise Http404("Importação não encontrada.")
    return found
