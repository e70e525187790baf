"""What the split inbox adds to the queue: unread counts, the alerts' feed and the waiting thresholds.

Reads only; the read marks are written by tickets.services.ticket_read_mark. Every function costs a
fixed number of queries however many tickets are listed (tests/tickets/test_inbox_queries.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q

from accounts.models import ResellerConfig
from tickets.models import Message, Ticket, TicketRead

# An agent holding more open tickets than this sees unread counts for the most recently active ones.
HELD_CAP = 200
# How many of the newest Espera tickets the alerts look at when the Espera tab is not the one shown.
ESPERA_ALERTS = 10
# How many held tickets with unread messages the alerts name: those whose client wrote last. A new client
# message puts its ticket at the top (unless the provider stamped it older than twenty others' latest), and a
# key the script saw stays remembered after it leaves the feed, so none alerts twice.
HELD_ALERTS = 20
DEFAULT_WAIT_WARN, DEFAULT_WAIT_LATE = 5, 15
ALERT_WORDS = 12


@dataclass
class Unread:
    """The tickets the user holds (id, latest client message) and the user's read mark on each."""

    held: list = field(default_factory=list)
    marks: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)

    def stamp(self) -> tuple:
        # Part of the queue's version: a client message on a held ticket, or the holder reading one,
        # changes it, so the 204 answer is still right without counting anything.
        return tuple((pk, at, self.marks.get(pk)) for pk, at in self.held)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def unread_for(user) -> Unread:
    """The held tickets and their read marks: one query, two when the user holds any ticket."""
    if not user.is_authenticated or not user.is_active:
        return Unread()
    held = Ticket.objects.filter(agent=user, status=Ticket.Status.OPEN)
    if user.reseller_id:
        held = held.filter(reseller_id=user.reseller_id)  # served by the tenant queue index
    rows = list(held.order_by("-last_message_at").values_list("pk", "last_inbound_at")[:HELD_CAP])
    if not rows:
        return Unread()
    marks = dict(
        TicketRead.objects.filter(agent_id=user.pk, ticket_id__in=[pk for pk, _at in rows]).values_list(
            "ticket_id", "read_upto"
        )
    )
    return Unread(held=rows, marks=marks)


def unread_count(unread: Unread) -> Unread:
    """Fill `counts`: client messages newer than the read mark, for every held ticket in ONE aggregate."""
    match, unmarked = Q(), []
    for pk, last_inbound in unread.held:
        if last_inbound is None:
            continue  # no client message at all
        mark = unread.marks.get(pk)
        if mark:
            match |= Q(ticket_id=pk, created_at__gt=mark)
        else:
            unmarked.append(pk)  # never opened: every client message counts, one IN for all of them
    if unmarked:
        match |= Q(ticket_id__in=unmarked)
    if not match:
        return unread
    rows = (
        Message.objects.filter(match, direction=Message.Direction.IN)
        .order_by()
        .values("ticket_id")
        .annotate(n=Count("*"))
    )
    unread.counts = {row["ticket_id"]: row["n"] for row in rows if row["n"]}
    return unread


def _first_words(text: str) -> str:
    words = (text or "").split()
    return " ".join(words[:ALERT_WORDS]) + (" …" if len(words) > ALERT_WORDS else "")


def alert_feed(unread: Unread, espera_rows: list) -> list[dict]:
    """What the page's alert script compares with what it already alerted for (static/js/inbox.js).

    A client message on a held ticket is keyed by the ticket and its latest client message, a ticket
    in Espera by its id, so a refresh or a second tab never alerts twice for the same thing."""
    feed = []
    if unread.counts:
        tickets = Ticket.objects.filter(pk__in=list(unread.counts)).select_related("client")
        tickets = tickets.only("last_inbound_at", "last_client_preview", "client__name", "client__phone")
        tickets = tickets.order_by("-last_inbound_at")[:HELD_ALERTS]
        for t in tickets:
            at = t.last_inbound_at.isoformat() if t.last_inbound_at else ""
            feed.append(_alert("message", f"m:{t.pk}:{at}", t))
    for t in espera_rows:
        feed.append(_alert("espera", f"e:{t.pk}", t))
    return feed


def _alert(kind: str, key: str, t: Ticket) -> dict:
    return {
        "kind": kind,
        "key": key,
        "title": t.client.name or t.client.phone,
        "body": _first_words(client_preview(t)),  # the client's words, never the menu or a greeting
        "ticket": t.pk,
    }


def client_preview(t: Ticket) -> str:
    """What a row or an alert quotes: the client's latest message, or the latest one before the client wrote
    at all (a conversation the business started)."""
    return t.last_client_preview if t.last_inbound_at else t.last_message_preview


def client_last_at(t: Ticket) -> datetime | None:
    """The time of what client_preview quotes."""
    return t.last_inbound_at or t.last_message_at


def unanswered_since(t: Ticket) -> datetime | None:
    """Since when the client waits for an answer: its latest message, when no person answered after it.

    An answer is an agent's reply or template, or a text from the business's own phone
    (Ticket.last_human_reply_at); automatic texts (greeting, out of hours, menu, farewell, rating
    question) never are one. None when the client never wrote or was answered."""
    return unanswered_since_at(t.last_inbound_at, t.last_human_reply_at)


def unanswered_since_at(client_at: datetime | None, answered_at: datetime | None) -> datetime | None:
    """unanswered_since from the two columns alone (the supervisor's panel reads them without the rows)."""
    if client_at is None or (answered_at is not None and answered_at >= client_at):
        return None
    return client_at


def wait_thresholds(user) -> tuple[int, int]:
    """The tenant's (warn, late) minutes for coloured waiting rows; the defaults outside a tenant."""
    return tenant_wait_thresholds(user.reseller_id)


def tenant_wait_thresholds(reseller_id) -> tuple[int, int]:
    """wait_thresholds of one tenant (one query; none without a tenant)."""
    if reseller_id:
        row = (
            ResellerConfig.objects.filter(reseller_id=reseller_id)
            .values_list("wait_warn_minutes", "wait_late_minutes")
            .first()
        )
        if row:
            return row
    return DEFAULT_WAIT_WARN, DEFAULT_WAIT_LATE


def wait_level(since: datetime | None, now: datetime, thresholds: tuple[int, int]) -> str:
    """ "late", "warn" or "" for a row waiting since `since`."""
    if since is None:
        return ""
    minutes = (now - since).total_seconds() / 60
    warn, late = thresholds
    if late and minutes >= late:
        return "late"
    return "warn" if warn and minutes >= warn else ""
