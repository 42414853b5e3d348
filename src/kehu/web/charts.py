"""Chart figures for the pages: plain Plotly JSON that ``static/charts.js`` draws.

Pages build traces here and render them with the ``_chart.html`` macro; Plotly's own
bundle, from the installed ``plotly`` package, is served by the app (no CDN).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: the palette of kehu.css, so charts match the pages
COLORS = ("#0b6bcb", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
FONT = 'system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'


def figure(
    traces: Sequence[dict[str, Any]],
    *,
    x_title: str | None = None,
    y_title: str | None = None,
    height: int = 320,
    **layout: Any,
) -> dict[str, Any]:
    """A figure with kehu's look: small margins, the legend below, no toolbar."""
    base = {
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 16, "b": 48},
        "font": {"family": FONT, "size": 12},
        "colorway": list(COLORS),
        "legend": {"orientation": "h", "y": -0.2},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "xaxis": {"title": {"text": x_title} if x_title else None, "automargin": True},
        "yaxis": {"title": {"text": y_title} if y_title else None, "automargin": True},
    }
    return {"data": [_clean(t) for t in traces], "layout": base | layout}


def bar(
    x: Sequence[Any], y: Sequence[Any], name: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"type": "bar", "x": list(x), "y": list(y), "name": name, **extra}


def line(
    x: Sequence[Any], y: Sequence[Any], name: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "x": list(x),
        "y": list(y),
        "name": name,
        **extra,
    }


def pie(labels: Sequence[Any], values: Sequence[Any], **extra: Any) -> dict[str, Any]:
    return {"type": "pie", "labels": list(labels), "values": list(values), "hole": 0.45, **extra}


def _clean(value: Any) -> Any:
    """JSON without NaN (Plotly reads null as a gap) and without None keys."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value
