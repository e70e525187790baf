"""Automatic texts (greeting, out of hours, menu, rating, transfer notice), queued exactly once."""

from __future__ import annotations

from iaze.lib import clock
from tickets import outbox
from tickets.models import Message, Ticket, TicketEvent
from tickets.rules import auto_messages
from tickets.services.rollups import ticket_rollup_sync


def ticket_auto_message_send(*, ticket: Ticket, auto: auto_messages.AutoText) -> Message | None:
    """Queue an automatic text on the outbox exactly once per ticket and kind.

    The message is queued first under the unique per-ticket nonce `auto:<what>`, then the
    ticket's flag is set: concurrent workers collapse on the nonce, and a crash between the
    two steps cannot lose the text (the next attempt finds the queued one and only sets the flag).
    """
    flag = auto.flag
    if flag and not Ticket.objects.filter(pk=ticket.pk, **{f"{flag}__isnull": True}).exists():
        return None
    message, created = outbox.message_queue(
        ticket=ticket,
        text=auto.text,
        nonce=f"auto:{auto.what}",
        action=TicketEvent.Action.AUTO_MESSAGE,
        record={"what": auto.what},
    )
    if flag:
        # Bookkeeping, not a change of its own: the message's change above is what the feed reports.
        flagged = Ticket.objects.filter(pk=ticket.pk, **{f"{flag}__isnull": True}).update(**{flag: clock.now()})
        if flagged == 1 and flag == "rating_asked_at":  # the report counts the questions asked
            ticket_rollup_sync(ticket.pk)
    return message if created else None
