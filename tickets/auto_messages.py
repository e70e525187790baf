"""Automatic texts of a reseller (greeting, out-of-hours, farewell), sent through the outbox.

Each is queued at most once per ticket, under a unique per-ticket nonce, so
retries and concurrent workers cannot send it twice; the greeting and
out-of-hours texts also stamp the ticket (greeting_sent_at, out_of_hours_sent_at).
Business hours format: see validate_business_hours.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils.translation import gettext as _

from iaze.lib import clock

from .models import Message, Ticket, TicketEvent

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _config(ticket: Ticket):
    from accounts.models import ResellerConfig

    return ResellerConfig.objects.filter(reseller_id=ticket.reseller_id).first()


def validate_business_hours(hours) -> None:
    """Raise ValidationError unless `hours` is {"mon": [["08:00", "18:00"], ...], ...}.

    Days are mon..sun; a missing day is closed all day; an empty mapping means always open.
    Intervals are "HH:MM" local times in the reseller's timezone with start < end ("24:00" may end a day);
    a shift past midnight is written as two intervals, one on each day.
    """
    from django.core.exceptions import ValidationError

    if not isinstance(hours, dict):
        raise ValidationError(_("Use um objeto JSON por dia da semana."), code="invalid")
    for day, intervals in hours.items():
        if day not in WEEKDAYS:
            raise ValidationError(_("Dia desconhecido: %(day)s (use mon, tue, wed, thu, fri, sat, sun).")
                                  % {"day": day}, code="invalid")
        if not isinstance(intervals, list):
            raise ValidationError(_("%(day)s: use uma lista de intervalos.") % {"day": day}, code="invalid")
        for interval in intervals:
            ok = (isinstance(interval, list | tuple) and len(interval) == 2
                  and all(isinstance(t, str) for t in interval)
                  and _HHMM.match(interval[0]) and (_HHMM.match(interval[1]) or interval[1] == "24:00")
                  and interval[0] < interval[1])
            if not ok:
                raise ValidationError(_('%(day)s: intervalo inválido %(interval)s (use ["08:00", "18:00"]).')
                                      % {"day": day, "interval": interval}, code="invalid")


def _zone(config) -> ZoneInfo:
    try:
        return ZoneInfo(config.timezone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        # A bad timezone must not stop the message from being stored: fall back to the installation's.
        return ZoneInfo(settings.TIME_ZONE)


def is_open_at(config, at: datetime) -> bool:
    """Business hours as {"mon": [["08:00", "18:00"]], ...}; no hours configured means always open."""
    hours = (config.business_hours or {}) if config else {}
    if not hours:
        return True
    local = at.astimezone(_zone(config))
    now_hm = local.strftime("%H:%M")
    return any(
        isinstance(iv, list | tuple) and len(iv) == 2 and iv[0] <= now_hm < iv[1]
        for iv in hours.get(WEEKDAYS[local.weekday()], [])
    )


def _send_once(ticket: Ticket, text: str, what: str, flag: str | None = None) -> Message | None:
    """Queue an automatic text on the outbox exactly once per ticket and kind.

    The message is queued first under the unique per-ticket nonce `auto:<what>`, then the
    ticket's flag is set: concurrent workers collapse on the nonce, and a crash between the
    two steps cannot lose the text (the next attempt finds the queued one and only sets the flag).
    """
    from whatsapp import outbox

    from .services import message_enqueue_outbound

    if flag and not Ticket.objects.filter(pk=ticket.pk, **{f"{flag}__isnull": True}).exists():
        return None
    message, created = message_enqueue_outbound(ticket=ticket, text=text, nonce=f"auto:{what}")
    if flag:
        Ticket.objects.filter(pk=ticket.pk, **{f"{flag}__isnull": True}).update(**{flag: clock.now()})
    if not created:
        return None
    TicketEvent.objects.create(ticket=ticket, action=TicketEvent.Action.AUTO_MESSAGE, at=clock.now(),
                               to_state=ticket.ui_state, data={"what": what, "message_id": str(message.pk)})
    if getattr(settings, "WHATSAPP_SEND_INLINE", True):
        outbox.send_soon(message)
    return message


def on_inbound(ticket: Ticket, *, created: bool, at: datetime | None = None) -> None:
    """After a client's message is stored: greeting on a new ticket, out-of-hours while waiting.

    The out-of-hours text only goes to a ticket still in espera: once an agent holds the
    conversation, a "we are closed" would contradict the person answering.
    """
    config = _config(ticket)
    if config is None or ticket.status != Ticket.Status.OPEN:
        return
    at = at or clock.now()
    if created and config.greeting_text:
        _send_once(ticket, config.greeting_text, "greeting", flag="greeting_sent_at")
    if config.out_of_hours_text and ticket.agent_id is None and not is_open_at(config, at):
        _send_once(ticket, config.out_of_hours_text, "out_of_hours", flag="out_of_hours_sent_at")


def on_ticket_closed(ticket: Ticket) -> None:
    config = _config(ticket)
    if config and config.farewell_text:
        _send_once(ticket, config.farewell_text, "farewell")
