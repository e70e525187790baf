"""CSV exports: the report's figures (one small file) and one row per ticket (streamed).

Each comes in two flavours: the plain CSV (`,`, decimal point, durations in seconds) for scripts, and
`excel=True`, the one Excel in pt-BR opens right with a double click: `;` between cells (its list
separator in Brazil), decimal comma, durations as hh:mm. Both start with a UTF-8 BOM.

The per-ticket export reads tickets in keyset pages of `PAGE` rows ordered by (created_at, id), with the
page's clients, departments, agents and connections looked up by id (plain queries, no join, the same
on every profile), and yields CSV lines as it goes: 100,000 tickets never sit in memory at once.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Client, Department, User
from reports.scope import Durations, Report, Scope
from tickets.models import Ticket, UIState
from whatsapp.models import Connection

PAGE = 1000
# A cell starting with one of these is a formula to a spreadsheet; client names come from WhatsApp.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like that hands back what csv.writer writes, so each row becomes one chunk."""

    def write(self, value: str) -> str:
        return value


def cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class Seconds(int):
    """A duration in seconds: written as the number in the plain CSV, as hh:mm in the Excel one."""


def seconds(value: int | None) -> Any:
    return "" if value is None else Seconds(value)


def hh_mm(value: int) -> str:
    minutes = (int(value) + 30) // 60  # to the nearest minute
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def excel_cell(value: Any) -> Any:
    if isinstance(value, Seconds):
        return hh_mm(value)
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return cell(value)


def csv_lines(rows: Iterable[Iterable[Any]], *, excel: bool = False) -> Iterator[str]:
    writer = csv.writer(_Line(), delimiter=";" if excel else ",")
    yield "\ufeff"  # so spreadsheet programs read the accents as UTF-8
    header = True
    for row in rows:
        if excel and header:  # the duration columns' unit changes with their format
            row = [v.replace("(s)", "(hh:mm)") if isinstance(v, str) else v for v in row]
        header = False
        yield writer.writerow([excel_cell(v) for v in row] if excel else [cell(v) for v in row])


def _d(durations: Durations) -> list[Any]:
    return [seconds(durations.p50), seconds(durations.p90)]


def figure_rows(report: Report) -> Iterator[list[Any]]:
    """The report page's figures, one row per line of the page (total, days, departments, agents)."""
    yield [
        _("seção"),
        _("item"),
        _("abertos"),
        _("assumidos"),
        _("finalizados"),
        _("aguardando agora"),
        _("primeira resposta mediana (s)"),
        _("primeira resposta p90 (s)"),
        _("resolução mediana (s)"),
        _("resolução p90 (s)"),
        _("avaliação média"),
        _("avaliações"),
    ]
    scope = report.scope
    yield [
        _("total"),
        f"{scope.first_day.isoformat()} – {scope.last_day.isoformat()}",
        report.opened,
        "",
        report.closed,
        report.waiting,
        *_d(report.first_response),
        *_d(report.resolution),
        "" if report.rating_avg is None else report.rating_avg,
        report.ratings,
    ]
    for day, opened, closed in report.per_day:
        yield [_("dia"), day.isoformat(), opened, "", closed, "", "", "", "", "", "", ""]
    for section, rows in ((_("departamento"), report.departments), (_("agente"), report.agents)):
        for row in rows:
            yield [
                section,
                row.label,
                row.opened,
                row.claimed if section == _("agente") else "",
                row.closed,
                row.waiting if section == _("departamento") else "",
                *_d(row.first_response),
                *_d(row.resolution),
                "" if row.rating_avg is None else row.rating_avg,
                row.ratings,
            ]
    for score, n in report.rating_distribution.items():
        yield [_("nota"), score, "", "", "", "", "", "", "", "", "", n]


TICKET_FIELDS = (
    "id",
    "client_id",
    "department_id",
    "agent_id",
    "connection_id",
    "status",
    "created_at",
    "claimed_at",
    "first_response_at",
    "closed_at",
    "first_response_seconds",
    "resolution_seconds",
    "rating",
)


def ticket_pages(scope: Scope) -> Iterator[list[Ticket]]:
    """Tickets opened in the scope, PAGE at a time, by keyset (created_at, id): each page is one indexed query."""
    base = scope.opened_at().only(*TICKET_FIELDS).order_by("created_at", "id")
    after: tuple[datetime, Any] | None = None
    while True:
        qs = base
        if after is not None:
            at, pk = after
            qs = qs.filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=pk))
        page = list(qs[:PAGE])
        if not page:
            return
        yield page
        if len(page) < PAGE:
            return
        after = (page[-1].created_at, page[-1].pk)


def _names(model, ids: set, label) -> dict:
    return {obj.pk: label(obj) for obj in model.objects.filter(pk__in=[i for i in ids if i is not None])} if ids else {}


def ticket_rows(scope: Scope) -> Iterator[list[Any]]:
    yield [
        _("atendimento"),
        _("cliente"),
        _("telefone"),
        _("departamento"),
        _("agente"),
        _("conexão"),
        _("situação"),
        _("aberto em"),
        _("assumido em"),
        _("primeira resposta em"),
        _("finalizado em"),
        _("primeira resposta (s)"),
        _("resolução (s)"),
        _("avaliação"),
    ]
    tz = scope.tz
    departments: dict = {}
    agents: dict = {}
    connections: dict = {}

    def local(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    for page in ticket_pages(scope):
        clients = _names(Client, {t.client_id for t in page}, lambda c: (c.name, c.phone or c.identity))
        for cache, model, attr, label in (
            (departments, Department, "department_id", lambda d: d.name),
            (agents, User, "agent_id", lambda u: u.display_name),
            (connections, Connection, "connection_id", lambda c: str(c)),
        ):
            cache.update(_names(model, {getattr(t, attr) for t in page} - set(cache), label))
        for t in page:
            name, phone = clients.get(t.client_id, ("", ""))
            yield [
                str(t.pk),
                name,
                phone,
                departments.get(t.department_id, ""),
                agents.get(t.agent_id, ""),
                connections.get(t.connection_id, ""),
                str(UIState(t.ui_state).label),
                local(t.created_at),
                local(t.claimed_at),
                local(t.first_response_at),
                local(t.closed_at),
                seconds(t.first_response_seconds),
                seconds(t.resolution_seconds),
                "" if t.rating is None else t.rating,
            ]
