"""Satisfaction survey decisions: when to ask a closed ticket's client for a rating, what counts as an
answer, and which closed ticket an answer belongs to.

Decisions only. The writes are `tickets.services.ticket_close` (queues the question through
`ticket_auto_message_send`, once, nonce `auto:rating`) and `rating_answer_ingest` in
tickets/services/inbound.py, run by the door `tickets.services.message_receive` (stores the answer
with one conditional update). See docs/reports.md.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from accounts.models import ResellerConfig
from tickets.models import Message, Ticket
from tickets.rules import window
from tickets.rules.auto_messages import AutoText

# How long after the question an answer is accepted.
ANSWER_WINDOW = timedelta(hours=24)

STAR = "⭐"
_NUMBER = re.compile(r"^(?:nota\s*)?([0-9]+)\s*(?:/\s*5\s*)?(?:estrelas?|stars?|pontos?)?[\s.!]*$", re.IGNORECASE)
_STARS = re.compile(r"^(?:⭐\ufe0f?\s*)+$")


def parse_rating(text: str) -> int | None:
    """1–5 from an answer such as "4", "5 estrelas", "nota 3", "4/5" or "⭐⭐⭐⭐". None for anything else,
    including numbers out of range (0, 6, 10): those are ordinary messages."""
    text = (text or "").strip()
    if not text or len(text) > 40:
        return None
    match = _NUMBER.match(text)
    if match:
        value = int(match.group(1))
        return value if 1 <= value <= 5 else None
    if _STARS.match(text):
        value = text.count(STAR)
        return value if 1 <= value <= 5 else None
    return None


def inside_provider_window(ticket: Ticket, connection: Any, *, now: datetime) -> bool:
    """May free text be sent to this client now? Only inside the connection's customer-service window,
    when its provider has one (tickets.rules.window: Meta's 24 hours after the client's last message)."""
    return window.is_open(ticket, now, connection=connection)


def after_close(config: ResellerConfig | None, ticket: Ticket, *, now: datetime) -> list[AutoText]:
    """The rating question, when the reseller turned the survey on and the client can still be written to."""
    if config is None or not config.satisfaction_enabled or not config.satisfaction_question_text.strip():
        return []
    if ticket.status != Ticket.Status.CLOSED or ticket.rating is not None:
        return []
    if not inside_provider_window(ticket, ticket.connection, now=now):
        return []
    return [AutoText("rating", config.satisfaction_question_text, flag="rating_asked_at")]


def thanks(config: ResellerConfig | None) -> list[AutoText]:
    if config is None or not config.satisfaction_thanks_text.strip():
        return []
    return [AutoText("rating_thanks", config.satisfaction_thanks_text)]


def awaiting_answer(*, connection: Any, client: Any, at: datetime, message_id: str = "") -> Ticket | None:
    """The closed ticket a rating answer sent at `at` belongs to, or None (the message is routed as usual).

    Only the client's most recently closed ticket on this connection, and only while the client has no
    open ticket there (a "5" inside a new conversation is part of that conversation): the question was
    asked, at most 24 hours before the answer, and the ticket is not rated yet, unless by this very
    message (a replay after a crash finishes the same answer instead of opening a ticket).
    """
    mine = Ticket.objects.filter(connection=connection, client=client)
    if mine.filter(status=Ticket.Status.OPEN).exists():
        return None
    latest = mine.filter(status=Ticket.Status.CLOSED).order_by("-closed_at").first()
    if latest is None or latest.rating_asked_at is None:
        return None
    if not (latest.rating_asked_at <= at + timedelta(minutes=5) and at - latest.rating_asked_at <= ANSWER_WINDOW):
        return None
    if latest.rating is not None and not (message_id and latest.rating_message_id == message_id):
        return None
    return latest


def is_text(kind: str) -> bool:
    return kind == Message.Kind.TEXT
