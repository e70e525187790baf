"""What the conversation page offers besides the thread: transfer targets, quick replies, templates,
the customer-service window, how reactions, edits, deletes and quotes show on the messages, and each
message's quote and reaction controls.

Reads only (the writes are tickets.services); views hand the results to the templates as they are.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import presence
from accounts.models import Department, User
from iaze.lib import clock
from providers import capabilities
from tickets.models import Message, MessageTemplate, QuickReply, Ticket, UIState
from tickets.rules import permissions, window


@dataclass
class TemplateChoice:
    template: MessageTemplate
    # One initial value per {{n}}: the client's name for {{1}}, where it fits.
    params: list[str] = field(default_factory=list)


def transfer_targets(ticket: Ticket) -> list[Department]:
    """The tenant's active departments, each with its active agents (`.active_agents`, each with `.online`),
    by name.

    Three plain queries (departments, their links, the agents) instead of prefetch_related, which the
    MongoDB backend does not support."""
    departments = list(Department.objects.filter(reseller_id=ticket.reseller_id, active=True).order_by("name"))
    links = list(
        User.departments.through.objects.filter(department_id__in=[d.pk for d in departments]).values_list(
            "department_id", "user_id"
        )
    )
    agents = {
        u.pk: u
        for u in User.objects.filter(pk__in={user_id for _, user_id in links}, is_active=True).order_by("name", "email")
    }
    order = {pk: i for i, pk in enumerate(agents)}
    now = clock.now()
    for agent in agents.values():
        agent.online = presence.is_online(agent, now=now)  # type: ignore[attr-defined]
    for department in departments:
        mine = [agents[user_id] for dept_id, user_id in links if dept_id == department.pk and user_id in agents]
        department.active_agents = sorted(mine, key=lambda u: order[u.pk])  # type: ignore[attr-defined]
    return departments


def fill_quick_reply(text: str, *, ticket: Ticket, agent: Any) -> str:
    client = ticket.client
    return (
        text.replace("{{nome}}", client.name or client.phone or "")
        .replace("{{agente}}", getattr(agent, "display_name", "") or "")
        .replace("{{protocolo}}", ticket.protocol)
    )


def quick_replies_for(ticket: Ticket, agent: Any) -> list[QuickReply]:
    """The tenant's quick replies for the ticket's department (and every department), texts filled in."""
    replies = list(
        QuickReply.objects.filter(reseller_id=ticket.reseller_id, active=True)
        .select_related("media_file")
        .filter(Q(department__isnull=True) | Q(department_id=ticket.department_id))
        .order_by("shortcut")
    )
    for r in replies:
        r.filled = fill_quick_reply(r.text, ticket=ticket, agent=agent)  # type: ignore[attr-defined]
    return replies


def templates_for(ticket: Ticket) -> list[TemplateChoice]:
    name = ticket.client.name or ""
    choices = []
    for t in MessageTemplate.objects.filter(
        connection_id=ticket.connection_id, status=MessageTemplate.Status.APPROVED
    ).order_by("name", "language"):
        params = [""] * t.param_count
        if params and name:
            params[0] = name
        choices.append(TemplateChoice(template=t, params=params))
    return choices


@dataclass
class WindowInfo:
    applies: bool
    open: bool
    closes_at: datetime | None
    until: str = ""  # "até amanhã 14:32": until_text, while open


def until_text(end: datetime, now: datetime | None = None) -> str:
    """Until when, with the day: "até hoje 18:05", "até amanhã 14:32", "até 09/12 10:00" (the active time zone:
    a bare hour after midnight would otherwise read as today's)."""
    local_end, local_now = timezone.localtime(end), timezone.localtime(now or clock.now())
    at = local_end.strftime("%H:%M")
    days = (local_end.date() - local_now.date()).days
    if days == 0:
        return _("até hoje %(t)s") % {"t": at}
    if days == 1:
        return _("até amanhã %(t)s") % {"t": at}
    return _("até %(d)s %(t)s") % {"d": local_end.strftime("%d/%m"), "t": at}


def window_info(ticket: Ticket, now: datetime | None = None) -> WindowInfo:
    now = now or clock.now()
    end = window.closes_at(ticket)
    is_open = window.is_open(ticket, now)
    until = until_text(end, now) if end is not None and is_open else ""
    return WindowInfo(applies=end is not None, open=is_open, closes_at=end, until=until)


def tools_context(user: Any, ticket: Ticket, *, dept_ids=None, quick: str = "", reply_to: str = "") -> dict:
    """The detail page's extra context: what this user may do with the conversation tools. `reply_to`: the
    message the reply being written quotes (`quoting`, shown above the reply box)."""
    state = ticket.ui_state
    can_reply = state == UIState.ATENDENDO and permissions.may_reply(user, ticket)
    info = window_info(ticket)
    context: dict[str, Any] = {
        "window": info,
        "can_transfer": permissions.may_transfer(user, ticket, dept_ids=dept_ids),
        "can_note": permissions.may_note(user, ticket, dept_ids=dept_ids),
        "can_template": can_reply and info.applies,
        "transfer_targets": [],
        "quick_replies": [],
        "templates": [],
        "quick_text": "",
        "quick_chosen": None,
        "quoting": None,
        "reaction_choices": REACTION_CHOICES,
    }
    if context["can_transfer"]:
        context["transfer_targets"] = transfer_targets(ticket)
    if can_reply:
        context["quick_replies"] = quick_replies_for(ticket, user)
        if quick:
            chosen = next((r for r in context["quick_replies"] if str(r.pk) == quick), None)
            context["quick_text"] = chosen.filled if chosen else ""
            context["quick_chosen"] = chosen  # its file, if any, goes with the text (the no-JS select)
        context["quoting"] = quoting_for(ticket, reply_to)
    if context["can_template"]:
        context["templates"] = templates_for(ticket)
    return context


# --- what the client did to messages, shown on the messages themselves ------------------------


def attach_client_actions(ticket: Ticket, page: Any) -> None:
    """Reactions go on the message they react to (the client's in `.reactions`, the agents' in
    `.agent_reaction`), an edit's row folds into the message it edits, and a reply carries the message
    it quotes. Rows folded away get `.folded = True`. An agent's reaction that failed stays a row of its
    own, with its reason."""
    items = page.items
    by_pid = {m.provider_message_id: m for m in items if getattr(m, "provider_message_id", "")}
    quoted_ids = set()
    for m in items:
        m.folded = False
        m.reactions = []
        m.agent_reaction = ""
        m.quoted = None
    for m in items:
        target_id = getattr(m, "reply_to_provider_id", "")
        if not target_id:
            continue
        media = m.media or {}
        if m.kind == Message.Kind.REACTION:
            target = by_pid.get(target_id)
            if target is None:
                continue
            # The latest reaction wins; an empty emoji removes it.
            if m.direction == Message.Direction.IN:
                target.reactions = [media["emoji"]] if media.get("emoji") else []
                m.folded = True
            elif m.delivery_status != Message.Delivery.FAILED:
                target.agent_reaction = media.get("emoji") or ""
                m.folded = True
        elif media.get("edit"):
            m.folded = target_id in by_pid
        else:
            quoted_ids.add(target_id)
    if not quoted_ids:
        return
    quoted = {
        q.provider_message_id: q
        for q in Message.objects.filter(connection_id=ticket.connection_id, provider_message_id__in=quoted_ids)
        .exclude(direction=Message.Direction.NOTE)
        .only("provider_message_id", "text", "kind", "direction")
    }
    for m in items:
        target_id = getattr(m, "reply_to_provider_id", "")
        if target_id and not m.folded and m.kind != Message.Kind.REACTION:
            m.quoted = quoted.get(target_id)


# The reactions the conversation offers in one click (any single emoji is accepted by `…/reagir/`).
REACTION_CHOICES = ("👍", "❤️", "😂", "😮", "😢", "🙏")
_NOT_QUOTABLE = (Message.Kind.REACTION, Message.Kind.SYSTEM)


def attach_message_tools(user: Any, ticket: Ticket, page: Any) -> None:
    """Each message's quote and reaction controls, for a user who may reply now: `.can_quote` (a message
    that reached WhatsApp, on a connection that sends quotes), `.can_react` (a client's message, on a
    connection that sends reactions, inside the window) and the reaction form's one-time `.react_nonce`."""
    adapter = capabilities(ticket.connection)
    can_reply = ticket.ui_state == UIState.ATENDENDO and permissions.may_reply(user, ticket)
    quotes, reacts = can_reply and adapter.quotes, can_reply and adapter.reacts and window.is_open(ticket)
    for m in page.items:
        sent = bool(m.provider_message_id) and m.kind not in _NOT_QUOTABLE
        m.can_quote = quotes and sent and m.direction != Message.Direction.NOTE
        m.can_react = reacts and sent and m.direction == Message.Direction.IN
        m.react_nonce = secrets.token_urlsafe(12) if m.can_react else ""


def quoting_for(ticket: Ticket, value: Any) -> Message | None:
    """The message a reply being written quotes (`reply_to`), when it is one the reply may quote."""
    try:
        found = Message.objects.filter(pk=uuid.UUID(str(value)), ticket_id=ticket.pk).first() if value else None
    except ValueError:
        return None
    if found is None or found.direction == Message.Direction.NOTE or found.kind in _NOT_QUOTABLE:
        return None
    return found if found.provider_message_id and capabilities(ticket.connection).quotes else None


def closing_soon_ids(tickets, now: datetime | None = None) -> set:
    """Atendendo tickets (on connections with a window) whose window closes within the hour."""
    now = now or clock.now()
    ids: set = set()
    for provider, length in window.lengths().items():
        candidates = {
            t.pk
            for t in tickets
            if t.status == t.Status.OPEN
            and t.agent_id
            and t.last_inbound_at is not None
            and now < t.last_inbound_at + length <= now + window.WARN_BEFORE
        }
        if candidates:
            # Only connections with this window: one query per provider, for the few rows that qualify.
            rows = Ticket.objects.filter(pk__in=candidates, connection__provider=provider)
            ids.update(rows.values_list("pk", flat=True))
    return ids
