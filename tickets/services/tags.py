"""Tags on a ticket or its client, and the client's name, set from the conversation.

Who may: whoever may write a note on the ticket (tickets.rules.permissions.may_tag): the agents of its
department, its (past) holder, a supervisor; in any state. Each change is one conditional write
(accounts.services) followed by its ticket's change (tickets.activity.ticket_change, one transaction on SQL
databases); a click that changes nothing records nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts import services as accounts_services
from accounts.services import ClientConflict, TagRejected
from tickets.activity import ticket_change
from tickets.models import Ticket, TicketEvent, TicketTag
from tickets.rules import permissions
from tickets.services.common import NotAllowed, TicketConflict

TAG_TARGETS = ("ticket", "client")


def ticket_tag_set(*, ticket: Ticket, by: Any, tag: Any, on: bool, target: str = "ticket") -> bool:
    """Add (`on`) or remove one of the tenant's tags on the ticket or on its client. True when it changed.

    TagRejected (400) for an unknown, inactive or another tenant's tag, or an unknown target."""
    if not permissions.may_tag(by, ticket):
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    if target not in TAG_TARGETS:
        raise TagRejected(target)
    found = accounts_services.tag_for(reseller_id=ticket.reseller_id, tag_id=tag)
    with transaction.atomic():
        if target == "client":
            changed = accounts_services.client_tag_set(client=ticket.client, tag=found, on=on)
        else:
            changed = accounts_services.link_set(TicketTag, ticket_id=ticket.pk, tag_id=found.pk, on=on)
        if changed:
            # The queue's live refresh compares each row's updated_at (selectors.queue_version), which the
            # change moves: the row's tags change with it.
            ticket_change(
                ticket,
                action=TicketEvent.Action.TAGGED if on else TicketEvent.Action.UNTAGGED,
                actor=by,
                to_state=ticket.ui_state,
                data={"tag": str(found.pk), "name": found.name, "target": target},
            )
    return changed


def ticket_client_rename(*, ticket: Ticket, by: Any, name: str, seen: str) -> bool:
    """The agent names the ticket's client (`seen`: the name the page showed). True when it changed.

    ValueError (400) for an empty name; TicketConflict (409) when someone renamed it meanwhile. The old
    name is kept (Client.previous_names and a `client_renamed` event with both names)."""
    if not permissions.may_tag(by, ticket):
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    with transaction.atomic():
        try:
            old = accounts_services.client_rename(client=ticket.client, name=name, seen=seen, by=by)
        except ClientConflict:
            raise TicketConflict(
                ticket, _("O nome do cliente foi alterado por outra pessoa. Confira e tente de novo.")
            ) from None
        if old == ticket.client.name:
            return False
        ticket_change(
            ticket,
            action=TicketEvent.Action.CLIENT_RENAMED,
            actor=by,
            to_state=ticket.ui_state,
            data={"old": old, "new": ticket.client.name},
        )
    return True
