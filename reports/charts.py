"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, nothing to vendor.

Each function returns SVG markup with `role="img"` and a title; the page shows every chart's numbers
in a table next to it, so the SVG is a picture of that table (screen readers read the table).
Labels are escaped here; numbers are formatted here. See docs/reports.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

SERIES = ("var(--brand, #0f766e)", "#94a3b8")  # opened, closed
INK = "#334155"


def _svg(width: int, height: int, title: str, body: list[str]) -> SafeString:
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    )
    return mark_safe(head + "".join(body) + "</svg>")


def _label(x: float, y: float, text: str, *, anchor: str = "start", size: int = 11) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{INK}">{escape(text)}</text>'


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return float(value)


def columns(title: str, labels: Sequence[str], series: Sequence[Sequence[float]], names: Sequence[str]) -> SafeString:
    """Grouped vertical bars (one group per label, e.g. per day), with a legend and a y scale."""
    width, height, left, bottom, top = 760, 240, 40, 28, 22
    plot_w, plot_h = width - left - 10, height - top - bottom
    top_value = _nice_max(max((v for s in series for v in s), default=0))
    n = max(1, len(labels))
    group = plot_w / n
    bar = max(1.0, group * 0.8 / max(1, len(series)))
    body = []
    for i in range(5):  # grid lines and the scale
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        body.append(_label(left - 4, y + 4, f"{value:g}", anchor="end"))
    every = max(1, round(n / 12))
    for i, label in enumerate(labels):
        x0 = left + group * i + group * 0.1
        for j, values in enumerate(series):
            value = values[i]
            h = plot_h * value / top_value
            body.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{SERIES[j % len(SERIES)]}"><title>{escape(label)}: {escape(names[j])} {value:g}</title></rect>'
            )
        if i % every == 0:
            cx = left + group * i + group / 2
            body.append(
                f'<text x="{cx:.1f}" y="{height - 10}" font-size="11" text-anchor="middle" fill="{INK}">'
                f"{escape(label)}</text>"
            )
    for j, name in enumerate(names):  # legend
        x = left + j * 130
        body.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{SERIES[j % len(SERIES)]}"/>')
        body.append(f'<text x="{x + 16}" y="14" font-size="12" fill="{INK}">{escape(name)}</text>')
    return _svg(width, height, title, body)


def bars(title: str, labels: Sequence[str], values: Sequence[float], *, suffix: str = "") -> SafeString:
    """Horizontal bars, one per label (departments, agents, scores)."""
    row, left, width = 26, 170, 760
    height = max(1, len(labels)) * row + 8
    top_value = max(values, default=0) or 1
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * row
        w = (width - left - 80) * value / top_value
        short = label if len(label) <= 24 else label[:23] + "…"
        body.append(
            f'<text x="{left - 8}" y="{y + 16}" font-size="12" text-anchor="end" fill="{INK}">{escape(short)}</text>'
        )
        body.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" rx="3" fill="{SERIES[0]}"/>')
        body.append(
            f'<text x="{left + w + 6:.1f}" y="{y + 16}" font-size="12" fill="{INK}">{value:g}{escape(suffix)}</text>'
        )
    return _svg(width, height, title, body)


def heatmap(title: str, day_names: Sequence[str], grid: dict[tuple[int, int], int]) -> SafeString:
    """Tickets opened per hour of the week: 7 rows (Monday first) × 24 hours, darker = more."""
    cell, left, top = 28, 48, 18
    width, height = left + 24 * cell + 4, top + 7 * cell + 4
    peak = max(grid.values(), default=0) or 1
    body = []
    for h in range(0, 24, 3):
        body.append(_label(left + h * cell + cell / 2, 12, f"{h}h", anchor="middle"))
    for d in range(7):
        y = top + d * cell
        body.append(_label(left - 6, y + 18, day_names[d], anchor="end"))
        for h in range(24):
            value = grid.get((d + 1, h), 0)
            opacity = 0.06 + 0.94 * value / peak if value else 0.03
            body.append(
                f'<rect x="{left + h * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" rx="3" '
                f'fill="{SERIES[0]}" fill-opacity="{opacity:.2f}">'
                f"<title>{escape(day_names[d])} {h}h: {value}</title></rect>"
            )
    return _svg(width, height, title, body)
