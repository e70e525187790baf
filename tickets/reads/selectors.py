"""Who sees which tickets: the one place where ticket visibility is decided.

Every workspace view and admin page fetches tickets through these functions,
so a ticket of another tenant or department simply does not exist for the user (404).
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Client, ClientTag, Department, User
from accounts.selectors import scope_register, scoped
from iaze.lib import clock
from tickets.models import Message, MessageTemplate, QuickReply, Ticket, TicketEvent, TicketQuerySet, TicketTag, UIState
from tickets.reads.search import search_match
from tickets.rules.permissions import is_supervisor


def ticket_queryset_for(user, *, dept_ids: list | None = None) -> TicketQuerySet:
    """All tickets the user may open: installation admins everything, a tenant's admin or reseller user its tenant,
    an agent the tickets of its own departments (in any state).

    `dept_ids`: the user's departments when the caller already read them (one query less)."""
    if not user.is_authenticated or not user.is_active:
        return Ticket.objects.none()
    if user.is_admin and user.reseller_id is None:
        return Ticket.objects.all()  # an installation admin; an admin of a tenant sees that tenant
    if user.reseller_id is None:
        return Ticket.objects.none()
    qs = Ticket.objects.filter(reseller_id=user.reseller_id)
    within = _within_tenant(user, dept_ids)
    return qs if within is None else qs.filter(within)


def _within_tenant(user, dept_ids: list | None = None) -> Q | None:
    """Which of its tenant's tickets a tenant's user may open: None for all of them (a supervisor)."""
    if user.is_supervisor_of(user.reseller_id) or user.is_bot:
        return None  # an integration's bot reads its whole tenant (it acts only on espera: tickets.rules.permissions)
    if dept_ids is None:
        dept_ids = user_department_ids(user)
    # An agent also keeps seeing tickets it holds or held, even after a department change.
    return Q(department_id__in=dept_ids) | Q(agent=user)


def ticket_get_for(user, pk, *, base: TicketQuerySet | None = None) -> Ticket:
    try:
        return (
            (ticket_queryset_for(user) if base is None else base)
            .select_related("client", "department", "agent", "connection", "reseller")
            .get(pk=pk)
        )
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise Http404("Atendimento não encontrado.") from None


# --- the agent workspace: queues, threads, version stamps -------------------------------------

QUEUE_PAGE_SIZE = 25
# The queue's search reads at most this much of the query (tickets.reads.search: at most 5 words).
SEARCH_MAX_CHARS = 100
THREAD_PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueFilters:
    department_id: str = ""
    agent_id: str = ""
    q: str = ""
    tag_id: str = ""


class StampRow(NamedTuple):
    """A queue row as its stamp sees it (queue_version, _encode_cursor)."""

    pk: Any
    status: str
    agent_id: Any
    updated_at: Any
    last_message_at: Any


@dataclass
class Page:
    items: list
    next_cursor: str = ""


def user_department_ids(user) -> list:
    if not user.is_authenticated or not user.is_active:
        return []
    return list(user.departments.values_list("pk", flat=True))


def user_departments(user) -> list[Department]:
    """The user's departments (active or not), by name: one query for both their ids and the filter."""
    if not user.is_authenticated or not user.is_active:
        return []
    return list(user.departments.only("pk", "name", "active").order_by("name"))


def queue_filter_choices(user, *, own_departments: list | None = None) -> tuple[list, list | None]:
    """Departments, and for supervisors agents, offered as the queue's filters (None: no agent filter).

    `own_departments`: the agent's departments from user_departments, when already read."""
    departments = Department.objects.filter(active=True).order_by("name")
    agents = User.objects.filter(role=User.Role.AGENT, is_active=True)
    if user.is_admin and not user.reseller_id:
        return list(departments), list(agents)
    if is_supervisor(user):
        return (
            list(departments.filter(reseller_id=user.reseller_id)),
            list(agents.filter(reseller_id=user.reseller_id)),
        )
    if own_departments is None:
        own_departments = user_departments(user)
    return [d for d in own_departments if d.active], None


def _filtered(user, filters: QueueFilters, base: TicketQuerySet | None = None) -> TicketQuerySet:
    qs = ticket_queryset_for(user) if base is None else base
    if filters.department_id:
        qs = qs.filter(department_id=filters.department_id)
    if filters.agent_id and is_supervisor(user):
        qs = qs.filter(agent_id=filters.agent_id)
    if filters.tag_id:
        tag = _uuid_or_none(filters.tag_id)
        # A ticket carries the tag itself or through its client (tickets.reads.tags).
        qs = qs.filter(
            Q(pk__in=TicketTag.objects.filter(tag_id=tag, active=True).values("ticket_id"))
            | Q(client_id__in=ClientTag.objects.filter(tag_id=tag, active=True).values("client_id"))
        )
    if filters.q:
        # The search index (tickets.reads.search): each word a prefix of a term, read through an index on
        # every profile, so the cost follows the matches and not the 100,000 tickets or 1,000,000 messages.
        match = search_match(filters.q[:SEARCH_MAX_CHARS], reseller_id=user.reseller_id)
        qs = qs.filter(match) if match is not None else qs.none()
    return qs


def _encode_cursor(ticket: Ticket) -> str:
    at = ticket.last_message_at.isoformat() if ticket.last_message_at else ""
    return f"{at}|{ticket.pk}"


def _after_cursor(qs: TicketQuerySet, cursor: str) -> TicketQuerySet:
    """Keyset step on (last_message_at DESC, id DESC): the cost does not grow with the page number.

    The plain DESC order is the one the queue indexes store, so the database walks an index
    instead of sorting. Where NULLs sort (first on PostgreSQL, last on SQLite/MongoDB) follows
    the backend; services always set last_message_at, so NULLs are a defensive case only.
    """
    at_text, _sep, pk_text = (cursor or "").partition("|")
    try:
        pk = uuid.UUID(pk_text)
        at = datetime.fromisoformat(at_text) if at_text else None
    except ValueError:
        return qs
    nulls_first = connection.features.nulls_order_largest
    if at is None:
        after = Q(last_message_at__isnull=True, pk__lt=pk)
        return qs.filter(after | Q(last_message_at__isnull=False) if nulls_first else after)
    # `<=` first so the index can start its range there; the OR only settles ties.
    after = Q(last_message_at__lte=at) & (Q(last_message_at__lt=at) | Q(pk__lt=pk))
    return qs.filter(after if nulls_first else after | Q(last_message_at__isnull=True))


# The columns a queue row shows; everything else stays in the database.
_ROW_FIELDS = (
    "status",
    "agent_id",
    "created_at",
    "updated_at",
    "last_message_at",
    "last_inbound_at",
    "last_message_preview",
    "last_client_preview",
    "last_human_reply_at",
    "client__name",
    "client__phone",
    "client__identity",
    "department__name",
    "agent__name",
    "agent__email",
)


def ticket_list_for(
    user,
    state: str,
    *,
    filters: QueueFilters = QueueFilters(),
    cursor: str = "",
    holder: str = "",
    limit: int = QUEUE_PAGE_SIZE,
    base: TicketQuerySet | None = None,
    stamp_only: bool = False,
) -> Page:
    """One page of the user's queue for a UI state, newest activity first.

    `holder` narrows atendendo for agents: "me" (their own, actionable) or "others"
    (the department's other atendendo, read-only). Supervisors see the whole tenant.
    `base` is the user's visible tickets when the caller already has them (one query less).
    `stamp_only`: rows carry only what queue_version and the cursor read (StampRow).
    """
    qs = _filtered(user, filters, base).in_state(state)
    if state == UIState.ATENDENDO and not is_supervisor(user):
        qs = qs.exclude(agent=user) if holder == "others" else qs.filter(agent=user)
    qs = _after_cursor(qs, cursor).order_by("-last_message_at", "-pk")
    if stamp_only:
        # What queue_version reads of a row, as tuples: no joins, no model instances (the poll's 204 path).
        rows: list = [StampRow(*r) for r in qs.values_list(*StampRow._fields)[: limit + 1]]
    else:
        rows = list(qs.select_related("client", "department", "agent").only(*_ROW_FIELDS)[: limit + 1])
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else ""
    return Page(items=rows[:limit], next_cursor=next_cursor)


# A tab count stops at this many tickets and the tab reads "1000+": counting every one of
# 100,000 tickets on each page load (and each poll) would make the page as slow as the table is big.
COUNT_CAP = 1000


def _capped_count(qs: TicketQuerySet) -> int:
    # Without ORDER BY the database stops after COUNT_CAP + 1 index entries, and selecting a
    # column of the queue indexes (not the id) lets SQLite count from the index alone.
    return qs.order_by().values("status")[: COUNT_CAP + 1].count()


def ticket_counts_for(user, *, filters: QueueFilters = QueueFilters(), base: TicketQuerySet | None = None) -> dict:
    """The three tab counts, each capped at COUNT_CAP + 1 (a value above COUNT_CAP means "more").

    They follow the department, agent and tag filters but not the search text, like the tabs.
    """
    narrow = QueueFilters(department_id=filters.department_id, agent_id=filters.agent_id, tag_id=filters.tag_id)
    return _state_counts(user, narrow, base)


FOUND_PREFIX = "found:"


def ticket_search_counts_for(
    user, *, filters: QueueFilters = QueueFilters(), base: TicketQuerySet | None = None
) -> dict:
    """With a search text: how many tickets it finds in each tab (`found:espera`, `found:atendendo`,
    `found:finalizado`, capped like the tab counts), so that a search typed in one tab says where the
    tickets it finds are. Empty without a search text."""
    if not filters.q:
        return {}
    return {f"{FOUND_PREFIX}{state}": n for state, n in _state_counts(user, filters, base).items()}


def _state_counts(user, filters: QueueFilters, base: TicketQuerySet | None) -> dict:
    qs = _filtered(user, filters, base)
    atendendo = qs.in_state(UIState.ATENDENDO)
    if not is_supervisor(user):
        # A ticket the agent holds is visible to it whatever its department: leaving the
        # departments' OR out lets the tenant queue index serve this count alone.
        own = (
            Ticket.objects.filter(reseller_id=user.reseller_id, agent=user)
            if user.is_active and user.reseller_id
            else Ticket.objects.none()
        )
        atendendo = _filtered(user, filters, own).in_state(UIState.ATENDENDO)
    return {
        UIState.ESPERA: _capped_count(qs.in_state(UIState.ESPERA)),
        UIState.ATENDENDO: _capped_count(atendendo),
        UIState.FINALIZADO: _capped_count(qs.in_state(UIState.FINALIZADO)),
    }


def count_label(count: int) -> str:
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)


def queue_version(counts: dict, *pages: Page | None, extra: tuple = ()) -> str:
    """A stamp of what the queue shows: the counts and every listed row as it stands.

    A visible ticket that is created, claimed, closed or gets a message changes a count or
    a listed row (the list is newest activity first), so the live refresh can answer 204
    without rendering; a change outside the shown rows and counts changes nothing on screen.
    """
    rows = [
        (t.pk, t.status, t.agent_id, t.updated_at, t.last_message_at)
        for page in pages
        if page is not None
        for t in page.items
    ]
    # `extra`: what else the page shows, e.g. the unread counts' inputs (tickets.reads.inbox.Unread.stamp).
    return _stamp(sorted(counts.items()), rows, extra, *(page.next_cursor for page in pages if page is not None))


# What a message bubble shows (and what its delivery stamp needs); the raw provider fields stay behind.
_MESSAGE_FIELDS = (
    "ticket_id",
    "created_at",
    "updated_at",
    "direction",
    "kind",
    "text",
    "media",
    "media_file_id",
    "from_business_phone",
    "delivery_status",
    "error_code",
    "error_text",
    "attempts",
    "sent_at",
    "delivered_at",
    "read_at",
    "sender_agent__name",
    "sender_agent__email",
    # What the client did to it (tickets.reads.conversation.attach_client_actions).
    "provider_message_id",
    "reply_to_provider_id",
    "edited_at",
    "previous_texts",
    "deleted_by_client_at",
)


def ticket_messages_for(ticket: Ticket, *, before: str = "", limit: int = THREAD_PAGE_SIZE) -> Page:
    """The latest page of a thread (or the page before a message), oldest → newest."""
    qs = ticket.messages.select_related("sender_agent").only(*_MESSAGE_FIELDS)
    if before:
        anchor = ticket.messages.filter(pk=_uuid_or_none(before)).values_list("created_at", "pk").first()
        if anchor:
            qs = qs.filter(Q(created_at__lt=anchor[0]) | Q(created_at=anchor[0], pk__lt=anchor[1]))
    rows = list(qs.order_by("-created_at", "-pk")[: limit + 1])
    earlier = str(rows[limit - 1].pk) if len(rows) > limit else ""
    return Page(items=list(reversed(rows[:limit])), next_cursor=earlier)


def message_with_file_for(ticket: Ticket, message_pk) -> Message:
    """A message of this (already authorised) ticket whose file is stored; 404 otherwise (also while pending)."""
    message = (
        Message.objects.filter(pk=message_pk, ticket_id=ticket.pk, media_file__isnull=False)
        .select_related("media_file")
        .first()
    )
    if message is None:
        raise Http404("Arquivo não encontrado.")
    return message


def media_message_for(ticket: Ticket, message_pk) -> Message:
    """A media message of this (already authorised) ticket, stored or not; 404 when it is not in the ticket."""
    message = Message.objects.filter(pk=message_pk, ticket_id=ticket.pk).only("pk", "ticket_id", "kind").first()
    if message is None:
        raise Http404("Mensagem não encontrada.")
    return message


# The columns of a shown message its stamp follows (a delivery update need not touch updated_at).
_STAMP_MESSAGE_FIELDS = ("pk", "updated_at", "delivery_status", "attempts", "sent_at", "delivered_at", "read_at")


def ticket_thread_version(ticket: Ticket, page: Page | None = None) -> str:
    """A stamp of the ticket's state and of the latest page as shown (`page` from ticket_messages_for).

    A new message lands on the latest page and a delivery update changes a shown row's
    columns, so the stamp moves with every visible change: no aggregate over a thread of
    thousands of messages. Without `page` (the live refresh, which renders nothing when the
    stamp is unchanged) only the stamp's columns of that page are read, as plain tuples; both
    ways give the same stamp for the same rows.
    """
    if page is not None:
        rows = [tuple(getattr(m, f) for f in _STAMP_MESSAGE_FIELDS) for m in page.items]
        return _stamp(ticket.status, ticket.agent_id, ticket.updated_at, rows, page.next_cursor)
    return _thread_stamp(ticket.pk, ticket.status, ticket.agent_id, ticket.updated_at)


def ticket_thread_version_of(pk, *, base: TicketQuerySet) -> str | None:
    """The stamp of ticket_thread_version from the stamp's own columns, for the live refresh: None when
    `base` (the user's visible tickets) does not hold the ticket, and the caller answers as for any
    unknown ticket."""
    row = next(iter(base.filter(pk=pk).values_list("status", "agent_id", "updated_at")[:1]), None)
    return None if row is None else _thread_stamp(pk, *row)


def _thread_stamp(ticket_id, status, agent_id, updated_at) -> str:
    latest = list(
        Message.objects.filter(ticket_id=ticket_id)
        .order_by("-created_at", "-pk")
        .values_list(*_STAMP_MESSAGE_FIELDS)[: THREAD_PAGE_SIZE + 1]
    )
    earlier = str(latest[THREAD_PAGE_SIZE - 1][0]) if len(latest) > THREAD_PAGE_SIZE else ""
    rows = list(reversed(latest[:THREAD_PAGE_SIZE]))
    return _stamp(status, agent_id, updated_at, rows, earlier)


HISTORY_SIZE = 20


def ticket_history_for(user, ticket: Ticket, *, dept_ids: list | None = None) -> list[Ticket]:
    """The client's other tickets the user may open, newest first (at most HISTORY_SIZE).

    `ticket` is one the user may open (read through ticket_get_for). The query names the client and not the
    tenant: a client and all its tickets belong to one tenant, so the tenant's equality would add no
    condition, only a second index (reseller, created_at) that looks as good as the client's to a planner
    without statistics. SQLite without ANALYZE took that one and walked every ticket of the tenant
    backwards (170 ms at 100,000 tickets, against 0.1 ms). Read by the client alone, the plan is
    `ticket_client_history` on every profile whatever the statistics (tests/tickets/test_query_plans.py).
    The tenant is still checked: on the ticket before the read, and on every row read.

    `dept_ids`: the user's departments when the caller already read them (one query less)."""
    if not user.is_authenticated or not user.is_active:
        return []
    everywhere = user.is_admin and user.reseller_id is None  # an installation admin
    if not everywhere and (user.reseller_id is None or ticket.reseller_id != user.reseller_id):
        return []
    qs = Ticket.objects.filter(client_id=ticket.client_id).exclude(pk=ticket.pk)
    within = None if everywhere else _within_tenant(user, dept_ids)
    if within is not None:
        qs = qs.filter(within)
    rows = qs.select_related("department", "agent").order_by("-created_at")[:HISTORY_SIZE]
    return [t for t in rows if everywhere or t.reseller_id == user.reseller_id]


def ticket_events_for(ticket: Ticket) -> list[TicketEvent]:
    """The ticket's history: its events but the plain message ones (the thread shows those messages and
    their delivery states)."""
    thread_only = (TicketEvent.Action.MESSAGE, TicketEvent.Action.MESSAGE_STATUS)
    events = list(ticket.events.exclude(action__in=thread_only).select_related("actor").order_by("at", "created_at"))
    labels = dict(UIState.choices)
    for event in events:
        # Display-only attributes for the template.
        setattr(event, "from_label", labels.get(event.from_state, event.from_state))  # noqa: B010
        setattr(event, "to_label", labels.get(event.to_state, event.to_state))  # noqa: B010
    return events


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _stamp(*parts) -> str:
    # The minute is part of the stamp so waiting times shown in a list refresh at least once a minute.
    minute = clock.now().strftime("%Y%m%d%H%M")
    raw = "|".join(str(p) for p in (*parts, minute))
    return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:16]


# --- the REST API's listings (the api app): the queue's visibility, filters and keyset ----------------

API_PAGE_SIZE = 25
API_PAGE_MAX = 100

# The columns an API ticket shows (tickets.reads.shapes.ticket_shape).
_API_TICKET_FIELDS = (
    "status",
    "agent_id",
    "created_at",
    "updated_at",
    "changed_at",
    "last_message_at",
    "client__name",
    "client__phone",
    "client__wa_id",
    "client__identity",
    "department__name",
    "agent__name",
    "agent__email",
    "connection__key",
)


@dataclass(frozen=True)
class TicketFeedFilters:
    """The API's ticket filters, already checked (a state, ids, an aware datetime)."""

    state: str = ""
    department_id: Any = None
    agent_id: Any = None
    updated_after: datetime | None = None


def ticket_feed_for(user, filters: TicketFeedFilters, *, cursor: str = "", limit: int = API_PAGE_SIZE) -> Page:
    """One page of the tickets the user may see, for the API. Newest activity first, on the queue's keyset
    (last_message_at, id); with `updated_after`, by the stamp of each ticket's latest change, oldest first
    (a syncing client resumes from the last one it read), on the change feed's (tenant, changed_at) index.

    Unlike the queue page, `agent` narrows an agent's list too (to what it may see anyway)."""
    qs = _filtered(user, QueueFilters(department_id=filters.department_id or ""))
    if filters.agent_id:
        qs = qs.filter(agent_id=filters.agent_id)
    if filters.updated_after is not None:
        if filters.state:
            qs = qs.in_state(filters.state)
        qs = _after_change_cursor(qs.filter(changed_at__gt=filters.updated_after), cursor).order_by("changed_at", "pk")
        rows = _api_rows(qs, limit)
        return Page(items=rows[:limit], next_cursor=_encode_change_cursor(rows[limit - 1]) if len(rows) > limit else "")
    if filters.state:  # the queue's own query, on its index
        rows = _api_rows(_after_cursor(qs.in_state(filters.state), cursor).order_by("-last_message_at", "-pk"), limit)
        return Page(items=rows[:limit], next_cursor=_encode_cursor(rows[limit - 1]) if len(rows) > limit else "")
    # Over every state: the same keyset walked in each state, each on its queue index and at most a page of
    # keys (no joins), the keys merged, then the page's rows read by id. One sort of the tenant's whole table
    # would grow with it.
    keys = []
    for state in UIState.values:
        step = _after_cursor(qs.in_state(state), cursor).order_by("-last_message_at", "-pk")
        keys += list(step.values_list("last_message_at", "pk")[: limit + 1])
    keys.sort(key=_activity_key, reverse=True)
    shown = keys[:limit]
    found = {t.pk: t for t in _api_rows(Ticket.objects.filter(pk__in=[pk for _at, pk in shown]), limit)}
    rows = [found[pk] for _at, pk in shown if pk in found]
    more = len(keys) > limit
    return Page(items=rows, next_cursor=_encode_key_cursor(*shown[-1]) if more else "")


def _api_rows(qs: TicketQuerySet, limit: int) -> list[Ticket]:
    return list(qs.select_related("client", "department", "agent", "connection").only(*_API_TICKET_FIELDS)[: limit + 1])


def _encode_key_cursor(at: datetime | None, pk) -> str:
    return f"{at.isoformat() if at else ''}|{pk}"


def _activity_key(key: tuple) -> tuple:
    """The queue's order (last_message_at DESC, id DESC) in Python, a missing stamp where the database puts it."""
    at, pk = key
    nulls_first = connection.features.nulls_order_largest  # NULL is the largest: first in a DESC order
    missing = at is None
    return (missing if nulls_first else not missing, at or datetime.min.replace(tzinfo=UTC), pk)


def _encode_change_cursor(ticket: Ticket) -> str:
    return f"{ticket.changed_at.isoformat() if ticket.changed_at else ''}|{ticket.pk}"


def _after_change_cursor(qs: TicketQuerySet, cursor: str) -> TicketQuerySet:
    """Keyset step on (changed_at ASC, id ASC); a cursor that does not parse starts from the beginning."""
    at_text, _sep, pk_text = (cursor or "").partition("|")
    try:
        pk = uuid.UUID(pk_text)
        at = datetime.fromisoformat(at_text)
    except ValueError:
        return qs
    return qs.filter(Q(changed_at__gte=at) & (Q(changed_at__gt=at) | Q(pk__gt=pk)))


def ticket_messages_since(ticket: Ticket, *, after=None, limit: int = API_PAGE_SIZE) -> Page:
    """A thread oldest first, from the start or after one of its messages (`after`, a message id), notes
    included. LookupError when `after` is not a message of this ticket."""
    qs = ticket.messages.select_related("sender_agent").only(
        "ticket_id",
        "created_at",
        "direction",
        "kind",
        "text",
        "delivery_status",
        "media_file_id",
        "sender_agent__name",
        "sender_agent__email",
    )
    if after is not None:
        anchor = ticket.messages.filter(pk=_uuid_or_none(after)).values_list("created_at", "pk").first()
        if anchor is None:
            raise LookupError(after)
        qs = qs.filter(Q(created_at__gt=anchor[0]) | Q(created_at=anchor[0], pk__gt=anchor[1]))
    rows = list(qs.order_by("created_at", "pk")[: limit + 1])
    return Page(items=rows[:limit], next_cursor=str(rows[limit - 1].pk) if len(rows) > limit else "")


def message_quotable_for(ticket: Ticket, message_pk) -> Message | None:
    """A message of this (already authorised) ticket that a reply may quote: a client's or a sent one, not a note."""
    pk = _uuid_or_none(message_pk)
    if pk is None:
        return None
    return (
        Message.objects.filter(pk=pk, ticket_id=ticket.pk)
        .exclude(direction=Message.Direction.NOTE)
        .only("pk", "ticket_id", "direction", "provider_message_id")
        .first()
    )


# --- the admin's scope of tickets' models and of clients (see accounts.selectors) ------------


def client_queryset_for(user) -> QuerySet[Client]:
    def of_visible_tickets(qs):
        return qs.filter(pk__in=set(ticket_queryset_for(user).values_list("client_id", flat=True)))

    return scoped(user, Client.objects.all(), "reseller_id", agent_qs=of_visible_tickets)


def message_queryset_for(user) -> QuerySet[Message]:
    return scoped(
        user,
        Message.objects.all(),
        "ticket__reseller_id",
        agent_qs=lambda qs: qs.filter(ticket__in=ticket_queryset_for(user)),
    )


def ticket_event_queryset_for(user) -> QuerySet[TicketEvent]:
    return scoped(
        user,
        TicketEvent.objects.all(),
        "ticket__reseller_id",
        agent_qs=lambda qs: qs.filter(ticket__in=ticket_queryset_for(user)),
    )


scope_register(Ticket, ticket_queryset_for)
scope_register(Message, message_queryset_for)
scope_register(TicketEvent, ticket_event_queryset_for)
scope_register(Client, client_queryset_for)


def quick_reply_queryset_for(user) -> QuerySet[QuickReply]:
    # Managed by the tenant's reseller users and admins; agents use them in the workspace only.
    return scoped(user, QuickReply.objects.all(), "reseller_id")


def message_template_queryset_for(user) -> QuerySet[MessageTemplate]:
    return scoped(user, MessageTemplate.objects.all(), "connection__reseller_id")


scope_register(QuickReply, quick_reply_queryset_for)
scope_register(MessageTemplate, message_template_queryset_for)
