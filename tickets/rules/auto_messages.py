"""Which automatic texts of a reseller (greeting, out-of-hours, farewell) a ticket should get, and when.

Decisions only: `tickets.services.ticket_auto_message_send` queues them, each at most once per ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts.hours import is_open_at
from accounts.models import Department, ResellerConfig
from tickets.models import Ticket


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


def _department(ticket: Ticket | None) -> Department | None:
    # Read fresh, like the config: a department's own hours or texts apply to the very next message.
    return Department.objects.filter(pk=ticket.department_id).first() if ticket and ticket.department_id else None


def _text(config: ResellerConfig, department: Department | None, field: str) -> str:
    """The department's text when it has one, else the tenant's."""
    return (getattr(department, field, "") if department else "") or getattr(config, field)


def after_inbound(config: ResellerConfig | None, ticket: Ticket, *, created: bool, at: datetime) -> list[AutoText]:
    """After a client's message: greeting on a new ticket, out-of-hours while waiting.

    The out-of-hours text only goes to a ticket still in espera: once an agent holds the
    conversation, a "we are closed" would contradict the person answering.
    """
    if config is None or ticket.status != Ticket.Status.OPEN:
        return []
    texts = []
    department = _department(ticket)
    if created and (greeting := _text(config, department, "greeting_text")):
        texts.append(AutoText("greeting", greeting, flag="greeting_sent_at"))
    out_of_hours = _text(config, department, "out_of_hours_text")
    if out_of_hours and ticket.agent_id is None and not is_open_at(config, at, department):
        texts.append(AutoText("out_of_hours", out_of_hours, flag="out_of_hours_sent_at"))
    return texts


def after_close(config: ResellerConfig | None, ticket: Ticket | None = None) -> list[AutoText]:
    if config is None:
        return []
    farewell = _text(config, _department(ticket), "farewell_text")
    return [AutoText("farewell", farewell)] if farewell else []
