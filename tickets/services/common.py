"""What the ticket writers share: the errors a view turns into 400/403/409, and small lookups."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from tickets.models import Ticket


class TicketConflict(Exception):
    """The ticket is not in the state the action needs (lost a race, or moved on)."""

    def __init__(self, ticket: Ticket, message: str):
        super().__init__(message)
        self.ticket = ticket
        self.holder = ticket.agent if ticket.agent_id else None


class NotAllowed(PermissionDenied):
    """The user may not act on this ticket (another agent holds it, wrong department)."""


class ReplyRejected(ValueError):
    """The reply text cannot be sent as it is (empty, or over the provider's limit)."""


class QuoteRejected(ReplyRejected):
    """The message a reply would quote cannot be quoted (another ticket's, a note, not sent yet)."""


class TransferRejected(ValueError):
    """The transfer's target is wrong (unknown, another tenant, inactive, not in the department)."""


def held_by_other(ticket: Ticket) -> str:
    name = ticket.agent.display_name if ticket.agent else ""
    return _("Este atendimento está com %(name)s.") % {"name": name}


def uuid_lookup(model, value):
    try:
        return model.objects.filter(pk=uuid.UUID(str(value))).first()
    except (ValueError, TypeError):
        return None


def seconds_between(start: datetime | None, end: datetime) -> int | None:
    """Whole seconds from a ticket's opening (its first message) to `end`, for the reports."""
    # Rounded, not truncated: stamps a few milliseconds apart (iaze.lib.clock) must not lose a second.
    return None if start is None else max(0, round((end - start).total_seconds()))
