"""A media message's failed download, fetched again from the conversation ("Tentar de novo").

Who may: anyone who can see the ticket (the view resolves visibility; another tenant's ticket is a 404).
The change is tickets.media.downloads.download_retry: one conditional write, failed → pending, so a double click
re-queues once (the second finds the job pending and changes nothing). The worker (send_outbox --loop,
whatsapp.media_fetch) then fetches the file. A re-queue is recorded as a `media_retried` event.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tickets.activity import ticket_change
from tickets.media import downloads as media_downloads
from tickets.models import MediaDownload, Message, Ticket, TicketEvent


def ticket_media_retry(*, ticket: Ticket, message: Message, by: Any) -> bool:
    """Re-queue the failed download of `message` (a message of `ticket`). True when it was re-queued;
    False when there was nothing failed to retry (pending, stored, or not a media message)."""
    if message.ticket_id != ticket.pk:
        return False
    job_id = (
        MediaDownload.objects.filter(message_id=message.pk, state=MediaDownload.State.FAILED)
        .values_list("pk", flat=True)
        .first()
    )
    if job_id is None:
        return False
    with transaction.atomic():
        if not media_downloads.download_retry(job_id):
            return False  # another click (or the admin) re-queued it a moment ago
        ticket_change(
            ticket,
            action=TicketEvent.Action.MEDIA_RETRIED,
            actor=by,
            to_state=ticket.ui_state,
            data={"message": str(message.pk)},
        )
    return True
