"""The log line of a client's data export (LGPD): an event on each of the client's tickets."""

from __future__ import annotations

from typing import Any

from ..activity import event_record
from ..models import Ticket, TicketEvent


def client_data_export_log(*, client: Any, by: Any, export_name: str, counts: dict[str, int]) -> int:
    """Log a client's data export (LGPD) as an event on each of the client's tickets. Changes nothing else.

    Returns how many events were written (none when the client has no ticket; the export is logged
    by `reports.lgpd` too)."""
    written = 0
    for ticket in Ticket.objects.filter(client=client).order_by("created_at"):
        event_record(
            ticket,
            actor=by,
            action=TicketEvent.Action.DATA_EXPORTED,
            to_state=ticket.ui_state,
            export=export_name,
            counts=counts,
        )
        written += 1
    return written
