"""The reads behind tags and the client panel: a constant number of queries however many rows or tags.

Tags live in accounts (Tag, ClientTag); a ticket's own tags in tickets.TicketTag. The writers are
accounts.services and tickets.services.tags.
"""

from __future__ import annotations

from typing import Any

from accounts.models import ClientTag, Tag
from tickets.models import Ticket, TicketTag


def tags_for(user: Any) -> list[Tag]:
    """The active tags the user may pick: its tenant's (an installation admin: every tenant's)."""
    if not user.is_authenticated or not user.is_active or (user.reseller_id is None and not user.is_admin):
        return []
    qs = Tag.objects.filter(active=True).only("pk", "reseller_id", "name", "color").order_by("name")
    return list(qs if user.reseller_id is None else qs.filter(reseller_id=user.reseller_id))


def attach_row_tags(rows: list[Ticket], tags: list[Tag]) -> None:
    """`row_tags` on each queue row: its own tags, then its client's, by name. Two queries for any page."""
    by_id = {t.pk: t for t in tags}
    ticket_ids = [t.pk for t in rows]
    client_ids = list({t.client_id for t in rows})
    own: dict = {}
    for ticket_id, tag_id in TicketTag.objects.filter(ticket_id__in=ticket_ids, active=True).values_list(
        "ticket_id", "tag_id"
    ):
        own.setdefault(ticket_id, set()).add(tag_id)
    theirs: dict = {}
    for client_id, tag_id in ClientTag.objects.filter(client_id__in=client_ids, active=True).values_list(
        "client_id", "tag_id"
    ):
        theirs.setdefault(client_id, set()).add(tag_id)
    for row in rows:
        ids = own.get(row.pk, set()) | theirs.get(row.client_id, set())
        row.row_tags = sorted((by_id[i] for i in ids if i in by_id), key=lambda t: t.name.casefold())


def client_panel(ticket: Ticket) -> dict:
    """The conversation's client panel: every active tag of the ticket's tenant, each marked as set on the
    ticket and/or on the client, and the client's earlier names. Three queries."""
    tags = list(
        Tag.objects.filter(reseller_id=ticket.reseller_id, active=True).only("pk", "name", "color").order_by("name")
    )
    on_ticket = set(TicketTag.objects.filter(ticket_id=ticket.pk, active=True).values_list("tag_id", flat=True))
    on_client = set(ClientTag.objects.filter(client_id=ticket.client_id, active=True).values_list("tag_id", flat=True))
    return {
        "panel_tags": [{"tag": t, "on_ticket": t.pk in on_ticket, "on_client": t.pk in on_client} for t in tags],
        "previous_names": list(ticket.client.previous_names or []),
    }
