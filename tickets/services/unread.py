"""The holder's read mark on a ticket: how far they have read the client's messages (the inbox's unread)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from iaze.lib import clock
from tickets.models import Message, Ticket, TicketRead


def ticket_read_mark(*, ticket: Ticket, agent: Any, upto: datetime | None) -> bool:
    """Record that `agent` has seen the ticket's client messages up to `upto` (the newest one shown).

    Only the holder marks: a supervisor glancing at an agent's ticket must not clear the agent's count.
    The mark only moves forward (one conditional update; the first mark is an insert that the unique
    (agent, ticket) index settles when two requests race). True when the mark moved."""
    if upto is None or ticket.agent_id is None or ticket.agent_id != agent.pk:
        return False
    upto = clock.to_ms(upto)
    marks = TicketRead.objects.filter(agent_id=agent.pk, ticket_id=ticket.pk)
    behind = Q(read_upto__lt=upto)
    if marks.filter(behind).update(read_upto=upto, updated_at=clock.now()):
        return True
    if not marks.exists():
        try:
            with transaction.atomic():
                TicketRead.objects.create(agent_id=agent.pk, ticket_id=ticket.pk, read_upto=upto)
            return True
        except IntegrityError:
            pass  # another request inserted it first
    # The row exists now, perhaps inserted by a racing request after the update above with an older
    # stamp: the conditional update decides, once the row is there it is final.
    return bool(marks.filter(behind).update(read_upto=upto, updated_at=clock.now()))


def newest_inbound_at(messages) -> datetime | None:
    """The arrival stamp of the newest client message among those shown (the read mark to store)."""
    stamps = [m.created_at for m in messages if m.direction == Message.Direction.IN]
    return max(stamps) if stamps else None
