"""Automatic texts of a reseller (greeting, out-of-hours, farewell), sent through the outbox.

Each is sent at most once per ticket: the claim is a conditional update of a
timestamp on the ticket, so retries and concurrent workers cannot send twice.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from .models import Message, Ticket, TicketEvent

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _config(ticket: Ticket):
    from accounts.models import ResellerConfig

    return ResellerConfig.objects.filter(reseller_id=ticket.reseller_id).first()


def is_open_at(config, at: datetime) -> bool:
    """Business hours as {"mon": [["08:00", "18:00"]], ...}; no hours configured means always open."""
    hours = (config.business_hours or {}) if config else {}
    if not hours:
        return True
    local = at.astimezone(ZoneInfo(config.timezone or settings.TIME_ZONE))
    now_hm = local.strftime("%H:%M")
    return any(start <= now_hm < end for start, end in hours.get(WEEKDAYS[local.weekday()], []))


def _send(ticket: Ticket, text: str, what: str) -> Message:
    from whatsapp import outbox

    from .services import message_enqueue_outbound

    message, _created = message_enqueue_outbound(ticket=ticket, text=text, nonce=f"auto:{what}")
    TicketEvent.objects.create(ticket=ticket, action=TicketEvent.Action.AUTO_MESSAGE, at=timezone.now(),
                               to_state=ticket.ui_state, data={"what": what, "message_id": str(message.pk)})
    if getattr(settings, "WHATSAPP_SEND_INLINE", True):
        outbox.send_soon(message)
    return message


def _claim_once(ticket: Ticket, field: str) -> bool:
    return Ticket.objects.filter(pk=ticket.pk, **{f"{field}__isnull": True}).update(**{field: timezone.now()}) == 1


def on_inbound(ticket: Ticket, *, created: bool, at: datetime | None = None) -> None:
    config = _config(ticket)
    if config is None or ticket.status != Ticket.Status.OPEN:
        return
    at = at or timezone.now()
    if created and config.greeting_text and _claim_once(ticket, "greeting_sent_at"):
        _send(ticket, config.greeting_text, "greeting")
    if config.out_of_hours_text and not is_open_at(config, at) and _claim_once(ticket, "out_of_hours_sent_at"):
        _send(ticket, config.out_of_hours_text, "out_of_hours")


def on_ticket_closed(ticket: Ticket) -> None:
    config = _config(ticket)
    if config and config.farewell_text:
        _send(ticket, config.farewell_text, "farewell")
