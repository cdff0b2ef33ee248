"""The success-criteria report as one self-contained HTML page (inline CSS and SVG, no scripts).

`render` is pure given its data: templates/report.html.j2 (a project root's own templates/ wins)
with autoescaping on; the charts come from deploy.monitoring.charts. The page is masked as a
whole before it is written, like everything else we print.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from markupsafe import Markup

from deploy.monitoring import charts, periods
from deploy.monitoring.criteria import Criterion, counts
from deploy.monitoring.queries import DayCount, StarShare, TopSeller
from deploy.monitoring.rollout import RolloutPoint
from deploy.secrets import mask
from deploy.config.shipped import shipped

TEMPLATE = "report.html.j2"
SHIPPED = shipped("templates")


@dataclass
class ReportData:
    environment: str
    generated_at: datetime
    days: int
    criteria: list[Criterion]
    per_day: list[DayCount]
    distribution: list[StarShare]
    rollout: list[RolloutPoint]
    top_sellers: list[TopSeller]
    hosts: list[dict] = field(default_factory=list)     # {"host", "state", "detail"}
    api_window: str = "since the process started"

    @property
    def period_start(self) -> datetime:
        return periods.days_since(self.generated_at.date(), self.days)


def chart_svgs(data: ReportData) -> dict[str, Markup]:
    days = data.per_day
    return {
        "ratings_per_day": Markup(charts.bar_chart(
            "chart-ratings-per-day", f"Ratings created per day, last {data.days} days (UTC)",
            [d.day.strftime("%m-%d") for d in days], [d.ratings for d in days],
            label_every=max(1, len(days) // 10))),
        "distribution": Markup(charts.distribution_chart(
            "chart-rating-distribution", f"Rating distribution, last {data.days} days",
            [(f"{s.rating} star{'s' if s.rating > 1 else ''}", s.ratings, float(s.percentage))
             for s in data.distribution])),
        "rollout": Markup(charts.rollout_chart(
            "chart-rollout", f"Rating feature rollout percentage, last {data.days} days",
            data.rollout, data.period_start, data.generated_at)),
    }


def render(data: ReportData, root: Path | None = None) -> str:
    import jinja2  # here, not at the top: loaded when a report is rendered, not by every importer

    folders = [str(Path(root) / "templates")] if root and (Path(root) / "templates" / TEMPLATE).is_file() else []
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([*folders, str(SHIPPED)]),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.get_template(TEMPLATE).render(data=data, charts=chart_svgs(data), counts=counts(data.criteria))
    return mask(html)


def write(path: Path, html: str) -> Path:
    """Write atomically (a temp file beside it, then rename): a reader never sees half a page."""
    path = Path(path).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
