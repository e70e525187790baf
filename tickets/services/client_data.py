"""The log line of a client's data export (LGPD): an event on each of the client's tickets."""

from __future__ import annotations

from typing import Any

from iaze.lib import clock
from tickets.activity import event_record
from tickets.models import Ticket, TicketEvent


def client_data_export_log(*, client: Any, by: Any, export_name: str, counts: dict[str, int]) -> int:
    """Log a client's data export (LGPD) as an event on each of the client's tickets. Changes nothing else.

    The one event that is not a change of its ticket (tickets.activity.ticket_change): the export reads
    the ticket and changes nothing, so its log has no version and is not in the change feed.
    Returns how many events were written (none when the client has no ticket; the export is logged
    by `reports.lgpd` too)."""
    written = 0
    for ticket in Ticket.objects.filter(client=client).order_by("created_at"):
        event_record(
            ticket.pk,
            reseller_id=ticket.reseller_id,
            version=0,
            at=clock.now(),
            action=TicketEvent.Action.DATA_EXPORTED,
            actor_id=getattr(by, "pk", by),
            to_state=ticket.ui_state,
            data={"export": export_name, "counts": counts},
        )
        written += 1
    return written
