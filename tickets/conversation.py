"""What the conversation page offers besides the thread: transfer targets, quick replies, templates,
the customer-service window, and how the client's reactions, edits, deletes and quotes show on the messages.

Reads only (the writes are tickets.services); views hand the results to the templates as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from accounts.models import Department, User
from iaze.lib import clock

from . import permissions, window
from .models import Message, MessageTemplate, QuickReply, Ticket, UIState


@dataclass
class TemplateChoice:
    template: MessageTemplate
    # One initial value per {{n}}: the client's name for {{1}}, where it fits.
    params: list[str] = field(default_factory=list)


def transfer_targets(ticket: Ticket) -> list[Department]:
    """The tenant's active departments, each with its active agents (`.active_agents`), by name.

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


def window_info(ticket: Ticket, now: datetime | None = None) -> WindowInfo:
    end = window.closes_at(ticket)
    return WindowInfo(applies=end is not None, open=window.is_open(ticket, now), closes_at=end)


def tools_context(user: Any, ticket: Ticket, *, dept_ids=None, quick: str = "") -> dict:
    """The detail page's extra context: what this user may do with the conversation tools."""
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
    }
    if context["can_transfer"]:
        context["transfer_targets"] = transfer_targets(ticket)
    if can_reply:
        context["quick_replies"] = quick_replies_for(ticket, user)
        if quick:
            chosen = next((r for r in context["quick_replies"] if str(r.pk) == quick), None)
            context["quick_text"] = chosen.filled if chosen else ""
    if context["can_template"]:
        context["templates"] = templates_for(ticket)
    return context


# --- what the client did to messages, shown on the messages themselves ------------------------


def attach_client_actions(ticket: Ticket, page: Any) -> None:
    """Reactions go on the message they react to, an edit's row folds into the message it edits,
    and a reply carries the message it quotes. Rows folded away get `.folded = True`."""
    items = page.items
    by_pid = {m.provider_message_id: m for m in items if getattr(m, "provider_message_id", "")}
    quoted_ids = set()
    for m in items:
        m.folded = False
        m.reactions = []
        m.quoted = None
    for m in items:
        target_id = getattr(m, "reply_to_provider_id", "")
        if not target_id:
            continue
        media = m.media or {}
        if m.kind == Message.Kind.REACTION:
            target = by_pid.get(target_id)
            if target is not None:
                # The latest reaction of the client wins; an empty emoji removes it.
                target.reactions = [media["emoji"]] if media.get("emoji") else []
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
