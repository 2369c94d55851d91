"""How the dashboard shows things: the Jinja environment (autoescaped), formatting filters, the
Temporal UI link of a workflow, and the funnel as table rows and inline-SVG bars."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "dashboard"

#: Column headings of the funnel metrics; a metric not named here gets a heading from its key.
METRIC_LABELS = {
    "sent": "Sent",
    "delivered": "Delivered",
    "opened_human": "Opened",
    "opened_machine": "Machine opens",
    "clicked": "Clicked",
    "replied_human": "Replied",
    "replied_auto": "Auto-replies",
    "converted": "Converted",
    "unsubscribed": "Unsubscribed",
    "bounced_hard": "Hard bounces",
    "bounced_soft": "Soft bounces",
    "bounced_block": "Blocks",
    "complained": "Complaints",
    "unknown": "Unknown",
}
#: The stages drawn as bars, in funnel order (those a step carries).
CHART_METRICS = ("sent", "delivered", "opened_human", "clicked", "replied_human", "converted")
BAR_COLORS = {
    "sent": "#9db4ef",
    "delivered": "#6d8fe6",
    "opened_human": "#3f6ad8",
    "clicked": "#2a4fb0",
    "replied_human": "#1f8a4c",
    "converted": "#b8860b",
}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " ").capitalize())


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "—"


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def property_value(value: object, width: int = 80) -> str:
    """A business event's property in a table cell: text as it is, anything else as JSON, cut to
    `width` characters (the autoescaping template escapes it: property values are untrusted)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def temporal_workflow_url(base_url: str, namespace: str, workflow_id: str) -> str:
    """The Temporal UI page of a workflow (ids hold `/`, so every part is percent-encoded)."""
    return (
        f"{base_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}"
        f"/workflows/{quote(workflow_id, safe='')}"
    )


@dataclass
class FunnelRow:
    step: str
    variant: str | None
    #: Stable id part for `data-testid`: the step, and its variant when it has one.
    key: str
    counts: dict[str, int]
    rates: dict[str, float]


@dataclass
class Bar:
    metric: str
    label: str
    value: int
    y: float
    width: float
    color: str


@dataclass
class BarGroup:
    title: str
    y: float
    bars: list[Bar] = field(default_factory=list)


@dataclass
class FunnelChart:
    width: int
    height: int
    label_width: int
    groups: list[BarGroup]


@dataclass
class FunnelView:
    columns: list[tuple[str, str]]
    rows: list[FunnelRow]
    chart: FunnelChart


BAR_HEIGHT, BAR_GAP, GROUP_GAP, TITLE_HEIGHT = 16, 4, 14, 20
CHART_WIDTH, LABEL_WIDTH, VALUE_ROOM = 720, 130, 60


def funnel_view(steps: Sequence[BaseModel]) -> FunnelView:
    """Table rows and bar geometry for the funnel's steps, whatever metrics (and variant) they carry."""
    rows: list[FunnelRow] = []
    columns: list[str] = []
    for step in steps:
        data: dict[str, Any] = step.model_dump()
        counts = {k: int(v) for k, v in (data.get("counts") or {}).items()}
        variant = data.get("variant")
        variant = str(variant) if variant not in (None, "") else None
        for metric in counts:
            if metric not in columns:
                columns.append(metric)
        rows.append(
            FunnelRow(
                step=str(data["step"]),
                variant=variant,
                key=f"{data['step']}-{variant}" if variant else str(data["step"]),
                counts=counts,
                rates=dict(data.get("rates") or {}),
            )
        )
    peak = max((r.counts.get(m, 0) for r in rows for m in CHART_METRICS), default=0) or 1
    scale = (CHART_WIDTH - LABEL_WIDTH - VALUE_ROOM) / peak
    groups: list[BarGroup] = []
    y = 0.0
    for row in rows:
        group = BarGroup(title=f"{row.step} · {row.variant}" if row.variant else row.step, y=y)
        y += TITLE_HEIGHT
        for metric in CHART_METRICS:
            if metric not in row.counts:
                continue
            value = row.counts[metric]
            width = round(value * scale, 1)
            color = BAR_COLORS.get(metric, "#8892a6")
            group.bars.append(Bar(metric, metric_label(metric), value, y, width, color))
            y += BAR_HEIGHT + BAR_GAP
        groups.append(group)
        y += GROUP_GAP
    chart = FunnelChart(CHART_WIDTH, max(int(y), 1), LABEL_WIDTH, groups)
    return FunnelView([(m, metric_label(m)) for m in columns], rows, chart)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["percent"] = percent
    env.filters["property_value"] = property_value
    env.globals["metric_label"] = metric_label
    return env


__all__ = [
    "CHART_METRICS",
    "METRIC_LABELS",
    "TEMPLATES_DIR",
    "FunnelView",
    "environment",
    "funnel_view",
    "metric_label",
    "percent",
    "property_value",
    "temporal_workflow_url",
    "when",
]
