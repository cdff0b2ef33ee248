"""Pure: small inline SVG charts for the self-contained HTML report (no scripts, no network).

Each chart is one <svg> with an id, a <title> and role="img"; bars are <rect class="bar"> with
data-label/data-value, the rollout line a <polyline class="line">, so a test (or a person with
devtools) can check what was drawn. All text is escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Callable, Sequence

from deploy.monitoring.rollout import RolloutPoint

COLORS = {"bar": "#2b6cb0", "distribution": "#d69e2e", "line": "#2f855a", "axis": "#4a5568",
          "grid": "#e2e8f0", "text": "#1a202c"}
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _open(chart_id: str, title: str, width: int, height: int) -> list[str]:
    t = escape(title)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" role="img" '
            f'aria-labelledby="{escape(chart_id)}-title" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">',
            f'<title id="{escape(chart_id)}-title">{t}</title>',
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{COLORS["text"]}" {FONT} {extra}>'
            f'{escape(text)}</text>')


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000,
                 100_000, 250_000, 500_000, 1_000_000):
        if value <= step:
            return step
    return value


def bar_chart(chart_id: str, title: str, labels: Sequence[str], values: Sequence[float], *,
              width: int = 760, height: int = 240, label_every: int = 1,
              value_text: Callable[[float], str] = lambda v: f"{v:g}") -> str:
    """Vertical bars (ratings per day): one per label, a y axis from 0 to a round maximum."""
    left, right, top, bottom = 48, 12, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max(values, default=0))
    out = _open(chart_id, title, width, height)
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{COLORS["grid"]}"/>')
        out.append(_text(left - 6, y + 4, value_text(top_value * frac), "end"))
    slot = plot_w / max(1, len(values))
    for i, (label, value) in enumerate(zip(labels, values)):
        h = plot_h * value / top_value
        x = left + i * slot + slot * 0.15
        out.append(f'<rect class="bar" data-label="{escape(label)}" data-value="{value:g}" x="{x:.1f}" '
                   f'y="{top + plot_h - h:.1f}" width="{max(1.0, slot * 0.7):.1f}" height="{h:.1f}" '
                   f'fill="{COLORS["bar"]}"><title>{escape(label)}: {escape(value_text(value))}</title></rect>')
        if i % max(1, label_every) == 0 or i == len(values) - 1:
            out.append(_text(left + i * slot + slot / 2, height - bottom + 16, label))
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
               f'stroke="{COLORS["axis"]}"/>')
    out.append("</svg>")
    return "\n".join(out)


def distribution_chart(chart_id: str, title: str, rows: Sequence[tuple[str, int, float]], *,
                       width: int = 760, height: int = 200) -> str:
    """Horizontal bars, one per star (label, count, percentage), scaled to 100%."""
    left, right, top = 70, 150, 12
    row_h = (height - 2 * top) / max(1, len(rows))
    plot_w = width - left - right
    out = _open(chart_id, title, width, height)
    for i, (label, count, pct) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * float(pct) / 100
        out.append(_text(left - 8, y + row_h * 0.62, label, "end"))
        out.append(f'<rect class="track" x="{left}" y="{y + row_h * 0.2:.1f}" width="{plot_w}" '
                   f'height="{row_h * 0.6:.1f}" fill="{COLORS["grid"]}"/>')
        out.append(f'<rect class="bar" data-label="{escape(label)}" data-value="{count}" x="{left}" '
                   f'y="{y + row_h * 0.2:.1f}" width="{w:.1f}" height="{row_h * 0.6:.1f}" '
                   f'fill="{COLORS["distribution"]}"><title>{escape(label)}: {count} ({float(pct):.2f}%)</title></rect>')
        out.append(_text(left + plot_w + 8, y + row_h * 0.62, f"{count:,} ({float(pct):.2f}%)", "start"))
    out.append("</svg>")
    return "\n".join(out)


def rollout_chart(chart_id: str, title: str, points: Sequence[RolloutPoint], start: datetime, end: datetime,
                  *, width: int = 760, height: int = 220) -> str:
    """The flag percentage as a step line over [start, end]; says so when nothing was journaled."""
    left, right, top, bottom = 48, 12, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    out = _open(chart_id, title, width, height)
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{COLORS["grid"]}"/>')
        out.append(_text(left - 6, y + 4, f"{pct}%", "end"))
    out.append(_text(left, height - bottom + 16, start.strftime("%Y-%m-%d"), "start"))
    out.append(_text(width - right, height - bottom + 16, end.strftime("%Y-%m-%d"), "end"))
    if not points:
        out.append(_text(left + plot_w / 2, top + plot_h / 2, "no rollout events in the journal for this period",
                         extra='class="empty"'))
        out.append("</svg>")
        return "\n".join(out)
    span = max(1.0, (end - start).total_seconds())

    def xy(at: datetime, pct: int) -> tuple[float, float]:
        x = left + plot_w * min(1.0, max(0.0, (at - start).total_seconds() / span))
        return x, top + plot_h * (1 - pct / 100)

    coords: list[tuple[float, float]] = []
    for i, p in enumerate(points):
        x, y = xy(p.at, p.percentage)
        if coords:
            coords.append((x, coords[-1][1]))          # hold the previous value until this change
        coords.append((x, y))
    coords.append((left + plot_w, coords[-1][1]))        # in force until the end
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    out.append(f'<polyline class="line" points="{line}" fill="none" stroke="{COLORS["line"]}" stroke-width="3"/>')
    for p in points:
        x, y = xy(p.at, p.percentage)
        out.append(f'<circle class="point" data-value="{p.percentage}" data-at="{p.at.isoformat()}" cx="{x:.1f}" '
                   f'cy="{y:.1f}" r="4" fill="{COLORS["line"]}"><title>{p.at:%Y-%m-%d %H:%M} UTC: '
                   f'{p.percentage}%</title></circle>')
    out.append("</svg>")
    return "\n".join(out)
