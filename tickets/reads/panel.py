"""The supervisor's panel (/painel/): every agent of a tenant, online or not, with the open tickets they hold
and how many of those wait for an answer; per department the tickets waiting in espera and the longest wait.

Reads only, in a fixed number of queries whatever the number of agents, departments and tickets
(tests/tickets/test_panel.py): the thresholds, the held tickets' four columns, the espera counts grouped
by department, the agents, the departments and the memberships. Nothing is read per row.

- Open: a ticket in atendendo the agent holds.
- Unanswered ("sem resposta"): one of those whose client wrote after the last answer a person gave, as the
  inbox colours it (tickets.reads.inbox.unanswered_since).
- Waiting: a ticket in espera (open, nobody holds it), waiting since it was opened, as the inbox counts it.
- Colours: the tenant's own thresholds of the inbox's waiting rows (ResellerConfig.wait_warn_minutes and
  wait_late_minutes): "warn" (yellow) and "late" (red).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q

from accounts import presence
from accounts.models import Department, Reseller, User
from tickets.models import Ticket
from tickets.reads import inbox


@dataclass
class AgentRow:
    id: Any
    name: str
    email: str
    online: bool
    last_seen_at: datetime | None
    departments: list[str] = field(default_factory=list)
    open_tickets: int = 0
    unanswered: int = 0
    oldest_unanswered_s: int | None = None
    level: str = ""


@dataclass
class DepartmentRow:
    id: Any
    name: str
    waiting: int = 0
    oldest_wait_s: int | None = None
    level: str = ""
    in_service: int = 0
    unanswered: int = 0
    agents_online: int = 0
    agents: int = 0


@dataclass
class Panel:
    reseller: Reseller
    now: datetime
    thresholds: tuple[int, int]
    agents: list[AgentRow]
    departments: list[DepartmentRow]

    @property
    def online(self) -> int:
        return sum(1 for a in self.agents if a.online)

    @property
    def waiting(self) -> int:
        return sum(d.waiting for d in self.departments)

    @property
    def unanswered(self) -> int:
        return sum(a.unanswered for a in self.agents)

    def as_json(self) -> dict:
        """The contract's shape (docs/workspace.md#painel), plus a few extra keys."""
        return {
            "reseller": {"id": str(self.reseller.pk), "name": self.reseller.name},
            "generated_at": self.now.isoformat(),
            "thresholds_min": {"warn": self.thresholds[0], "late": self.thresholds[1]},
            "agents": [
                {
                    "id": str(a.id),
                    "name": a.name,
                    "online": a.online,
                    "open_tickets": a.open_tickets,
                    "unanswered": a.unanswered,
                    "oldest_unanswered_s": a.oldest_unanswered_s,
                    "last_seen_at": a.last_seen_at.isoformat() if a.last_seen_at else None,
                }
                for a in self.agents
            ],
            "departments": [
                {
                    "id": str(d.id),
                    "name": d.name,
                    "waiting": d.waiting,
                    "oldest_wait_s": d.oldest_wait_s,
                    "level": d.level,
                    "in_service": d.in_service,
                    "unanswered": d.unanswered,
                }
                for d in self.departments
            ],
        }


def tenants_for(user: Any) -> list[Reseller]:
    """The tenants a supervisor may look at: their own, or every one for an installation admin."""
    if user.reseller_id is None:
        return list(Reseller.objects.filter(active=True).order_by("name"))
    return list(Reseller.objects.filter(pk=user.reseller_id))


def _seconds(now: datetime, since: datetime | None) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds()))


def panel_build(reseller: Reseller, *, now: datetime) -> Panel:
    thresholds = inbox.tenant_wait_thresholds(reseller.pk)
    open_tickets = Ticket.objects.filter(reseller_id=reseller.pk, status=Ticket.Status.OPEN)
    # Tuples, not rows: a tenant's held tickets are read as four columns, once.
    held = list(
        open_tickets.filter(agent__isnull=False)
        .order_by()
        .values_list("agent_id", "department_id", "last_inbound_at", "last_human_reply_at")
    )
    waiting = {
        row["department_id"]: row
        for row in open_tickets.filter(agent__isnull=True)
        .order_by()
        .values("department_id")
        .annotate(n=Count("*"), oldest=Min("created_at"))
    }
    holder_ids = list({agent_id for agent_id, *_ in held})
    users = list(
        User.objects.filter(reseller_id=reseller.pk)
        # Every active agent, and whoever else holds a ticket (a supervisor who claimed one, an agent since
        # deactivated), so the agents' counts add up to the tenant's.
        .filter(Q(role=User.Role.AGENT, is_active=True) | Q(pk__in=holder_ids))
        .only("id", "name", "email", "is_active", "last_seen_at")
        .order_by("name", "email")
    )
    dept_ids = list({dept_id for _, dept_id, *_ in held} | set(waiting))
    departments = list(
        Department.objects.filter(reseller_id=reseller.pk)
        .filter(Q(active=True) | Q(pk__in=dept_ids))
        .only("id", "name")
        .order_by("name")
    )
    names = {d.pk: d.name for d in departments}
    links = list(
        User.departments.through.objects.filter(user_id__in=[u.pk for u in users]).values_list(
            "user_id", "department_id"
        )
    )

    agents = {
        u.pk: AgentRow(
            id=u.pk,
            name=u.display_name,
            email=u.email,
            online=presence.is_online(u, now=now),
            last_seen_at=u.last_seen_at,
        )
        for u in users
    }
    rows = {d.pk: DepartmentRow(id=d.pk, name=d.name) for d in departments}
    for user_id, dept_id in links:
        if dept_id in rows and user_id in agents:
            agents[user_id].departments.append(names[dept_id])
            rows[dept_id].agents += 1
            rows[dept_id].agents_online += int(agents[user_id].online)
    oldest_unanswered: dict = {}
    for agent_id, dept_id, client_at, answered_at in held:
        unanswered = inbox.unanswered_since_at(client_at, answered_at)
        agent, row = agents.get(agent_id), rows.get(dept_id)
        if agent is not None:
            agent.open_tickets += 1
        if row is not None:
            row.in_service += 1
        if unanswered is None:
            continue
        if agent is not None:
            agent.unanswered += 1
            if agent_id not in oldest_unanswered or unanswered < oldest_unanswered[agent_id]:
                oldest_unanswered[agent_id] = unanswered
        if row is not None:
            row.unanswered += 1
    for agent_id, since in oldest_unanswered.items():
        agents[agent_id].oldest_unanswered_s = _seconds(now, since)
        agents[agent_id].level = inbox.wait_level(since, now, thresholds)
    for dept_id, group in waiting.items():
        if (row := rows.get(dept_id)) is not None:
            row.waiting, row.oldest_wait_s = group["n"], _seconds(now, group["oldest"])
            row.level = inbox.wait_level(group["oldest"], now, thresholds)
    return Panel(
        reseller=reseller,
        now=now,
        thresholds=thresholds,
        # Online first, then by name: who can take a ticket now is what a supervisor looks for.
        agents=sorted(agents.values(), key=lambda a: not a.online),
        departments=list(rows.values()),
    )
