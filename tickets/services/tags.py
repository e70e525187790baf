"""Tags on a ticket or its client, and the client's name, set from the conversation.

Who may: whoever may write a note on the ticket (tickets.permissions.may_tag): the agents of its
department, its (past) holder, a supervisor; in any state. Each change is one conditional write
(accounts.services) recorded as a TicketEvent; a click that changes nothing records nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts import services as accounts_services
from accounts.services import ClientConflict, TagRejected
from iaze.lib import clock

from .. import permissions
from ..activity import event_record
from ..models import Ticket, TicketEvent, TicketTag
from .common import NotAllowed, TicketConflict

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
            event_record(
                ticket,
                actor=by,
                action=TicketEvent.Action.TAGGED if on else TicketEvent.Action.UNTAGGED,
                to_state=ticket.ui_state,
                tag=str(found.pk),
                name=found.name,
                target=target,
            )
            _touch(ticket)
    return changed


def ticket_client_rename(*, ticket: Ticket, by: Any, name: str, seen: str) -> bool:
    """The agent names the ticket's client (`seen`: the name the page showed). True when it changed.

    ValueError (400) for an empty name; TicketConflict (409) when someone renamed it meanwhile. The old
    name is kept (Client.previous_names and a `client_renamed` event with both names)."""
    if not permissions.may_tag(by, ticket):
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    with transaction.atomic():
        try:
            old = accounts_services.client_rename(client=ticket.client, name=name, seen=seen)
        except ClientConflict:
            raise TicketConflict(
                ticket, _("O nome do cliente foi alterado por outra pessoa. Confira e tente de novo.")
            ) from None
        if old == ticket.client.name:
            return False
        event_record(
            ticket,
            actor=by,
            action=TicketEvent.Action.CLIENT_RENAMED,
            to_state=ticket.ui_state,
            old=old,
            new=ticket.client.name,
        )
        _touch(ticket)
    return True


def _touch(ticket: Ticket) -> None:
    # The queue's live refresh compares each row's updated_at (selectors.queue_version): the row's tags and
    # name change with it.
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=clock.now())
