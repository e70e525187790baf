"""What the report page shows: durations as words, the charts, and the tables behind them."""

from __future__ import annotations

from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _

from reports import charts
from reports.scope import Report


def duration(seconds: int | None) -> str:
    """12 s, 4 min 05 s, 2 h 10 min, 3 d 4 h; — when there is nothing to measure."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {m:02d} min"
    days, h = divmod(hours, 24)
    return f"{days} d {h} h"


def _day(value) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def present(report: Report) -> dict[str, Any]:
    day_labels = [value.strftime("%d/%m") for value, _o, _c in report.per_day]
    opened = [o for _d, o, _c in report.per_day]
    closed = [c for _d, _o, c in report.per_day]
    day_names = [_("seg"), _("ter"), _("qua"), _("qui"), _("sex"), _("sáb"), _("dom")]
    scores = list(report.rating_distribution.items())
    return {
        "report": report,
        "scope": report.scope,
        "first_day": _day(report.scope.first_day),
        "last_day": _day(report.scope.last_day),
        "first_response": {k: duration(getattr(report.first_response, k)) for k in ("p50", "p90")},
        "resolution": {k: duration(getattr(report.resolution, k)) for k in ("p50", "p90")},
        "per_day_rows": [(_day(d), o, c) for d, o, c in report.per_day],
        "chart_days": charts.columns(
            _("Atendimentos abertos e finalizados por dia"),
            day_labels,
            [opened, closed],
            [_("Abertos"), _("Finalizados")],
        ),
        "day_names": day_names,
        "per_hour_rows": [(day_names[d - 1], [report.per_hour.get((d, h), 0) for h in range(24)]) for d in range(1, 8)],
        "chart_hours": charts.heatmap(_("Atendimentos abertos por hora da semana"), day_names, report.per_hour),
        "departments": [_row(r) for r in report.departments],
        "chart_departments": charts.bars(
            _("Atendimentos abertos por departamento"),
            [r.label for r in report.departments],
            [r.opened for r in report.departments],
        ),
        "agents": [_row(r) for r in report.agents],
        "chart_agents": charts.bars(
            _("Atendimentos finalizados por agente"),
            [r.label for r in report.agents],
            [r.closed for r in report.agents],
        ),
        "scores": scores,
        "chart_scores": charts.bars(
            _("Avaliações por nota"), [f"{score} ★" for score, _n in scores], [n for _s, n in scores]
        ),
        "hours": list(range(24)),
    }


def _row(row) -> dict[str, Any]:
    return {
        "label": row.label,
        "opened": row.opened,
        "claimed": row.claimed,
        "closed": row.closed,
        "waiting": row.waiting,
        "first_response": duration(row.first_response.p50),
        "first_response_p90": duration(row.first_response.p90),
        "resolution": duration(row.resolution.p50),
        "rating_avg": "—" if row.rating_avg is None else formats.number_format(row.rating_avg, 1),
        "ratings": row.ratings,
    }
