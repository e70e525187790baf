"""Which automatic texts of a reseller (greeting, out-of-hours, farewell) a ticket should get, and when.

Decisions only: `tickets.services.ticket_auto_message_send` queues them, each at most once per ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts.hours import is_open_at
from accounts.models import ResellerConfig

from .models import Ticket


@dataclass(frozen=True)
class AutoText:
    what: str  # the nonce's suffix: one message per ticket and `what`
    text: str
    flag: str | None = None  # the ticket's *_sent_at stamp, when it has one


def reseller_config(ticket: Ticket) -> ResellerConfig | None:
    return reseller_config_of(ticket.reseller_id)


def reseller_config_of(reseller_id) -> ResellerConfig | None:
    """A tenant's config, read fresh: an admin's change applies to the very next message."""
    return ResellerConfig.objects.filter(reseller_id=reseller_id).first()


def after_inbound(config: ResellerConfig | None, ticket: Ticket, *, created: bool, at: datetime) -> list[AutoText]:
    """After a client's message: greeting on a new ticket, out-of-hours while waiting.

    The out-of-hours text only goes to a ticket still in espera: once an agent holds the
    conversation, a "we are closed" would contradict the person answering.
    """
    if config is None or ticket.status != Ticket.Status.OPEN:
        return []
    texts = []
    if created and config.greeting_text:
        texts.append(AutoText("greeting", config.greeting_text, flag="greeting_sent_at"))
    if config.out_of_hours_text and ticket.agent_id is None and not is_open_at(config, at):
        texts.append(AutoText("out_of_hours", config.out_of_hours_text, flag="out_of_hours_sent_at"))
    return texts


def after_close(config: ResellerConfig | None) -> list[AutoText]:
    return [AutoText("farewell", config.farewell_text)] if config and config.farewell_text else []
