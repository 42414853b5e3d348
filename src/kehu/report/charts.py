"""Plotly figures of the report, each returned as an HTML ``<div>`` without plotly.js.

Why Plotly rather than hand-drawn SVG: the report is for people who hover to
read exact numbers off heat maps and lines, Plotly is already a dependency, and
its JavaScript is embedded once per file (:func:`plotly_js`) so the report still
opens offline.  The price is about 4.7 MB per report, acceptable for a file that
is mailed once per run.

All inputs are small pandas frames computed by :mod:`kehu.analytics`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from kehu.i18n import text

#: the same CJK-capable stack as the report's CSS (Windows, macOS, Linux)
FONT_STACK = (
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", '
    '"Source Han Sans SC", "WenQuanYi Micro Hei", "Segoe UI", Roboto, Arial, sans-serif'
)
PALETTE = ["#2b6cb0", "#dd6b20", "#2f855a", "#c53030", "#6b46c1", "#b7791f", "#319795"]
HEAT = "Blues"


def plotly_js() -> str:
    """The plotly.js bundle, to be inlined once in the report."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _layout(fig, height: int = 360, **kw) -> None:
    fig.update_layout(
        template="plotly_white",
        font={"family": FONT_STACK, "size": 12},
        height=height,
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        legend={"orientation": "h", "y": -0.2},
        **kw,
    )


def to_div(fig, div_id: str) -> str:
    """The figure as a ``<div id=div_id>`` plus its drawing script (no plotly.js)."""
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def class_share_bars(sizes: pd.DataFrame, title: str, lang: str, div_id: str) -> str:
    """Grouped bars: share of customers and of revenue per class.

    ``sizes`` has ``label`` (display name), ``customer_share`` and ``revenue_share``.
    Up to 12 classes are drawn as horizontal bars (long Chinese names read best
    that way), more (grades, deciles) as vertical ones.
    """
    import plotly.graph_objects as go

    names = sizes["label"].astype(str).tolist()
    horizontal = len(names) <= 12
    fig = go.Figure()
    for col, key, color in (
        ("customer_share", "share_customers", PALETTE[0]),
        ("revenue_share", "share_revenue", PALETTE[1]),
    ):
        values = sizes[col].tolist()
        if horizontal:
            fig.add_bar(
                y=names,
                x=values,
                orientation="h",
                hovertemplate="%{y}: %{x:.1%}<extra></extra>",
                name=text(key, lang),
                marker_color=color,
            )
        else:
            fig.add_bar(
                x=names,
                y=values,
                hovertemplate="%{x}: %{y:.1%}<extra></extra>",
                name=text(key, lang),
                marker_color=color,
            )
    height = max(240, 90 + 34 * len(names)) if horizontal else 340
    _layout(fig, height=height, title=title, barmode="group")
    share_axis, class_axis = (
        (fig.update_xaxes, fig.update_yaxes) if horizontal else (fig.update_yaxes, fig.update_xaxes)
    )
    share_axis(tickformat=".0%")
    class_axis(type="category", automargin=True, autorange="reversed" if horizontal else True)
    return to_div(fig, div_id)


def heatmap(
    matrix: pd.DataFrame,
    *,
    title: str,
    x_title: str,
    y_title: str,
    div_id: str,
    fmt: str = "d",
    height: int | None = None,
) -> str:
    """One heat map of a small matrix (rows = y, columns = x), values written in cells."""
    import plotly.graph_objects as go

    z = matrix.to_numpy(dtype="float64")
    texts = [[_cell(v, fmt) for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in matrix.columns],
            y=[str(i) for i in matrix.index],
            text=texts,
            texttemplate="%{text}",
            colorscale=HEAT,
            hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>%{{text}}<extra></extra>",
            showscale=False,
        )
    )
    _layout(fig, height=height or max(300, 80 + 34 * len(matrix.index)), title=title)
    fig.update_xaxes(title=x_title, type="category", side="top")
    fig.update_yaxes(title=y_title, type="category", autorange="reversed")
    fig.update_layout(margin={"t": 90})
    return to_div(fig, div_id)


def _cell(value: float, fmt: str) -> str:
    if value != value:  # NaN: no customers in that cell
        return ""
    if fmt == "%":
        return f"{value:.0%}"
    if fmt == "d":
        return f"{value:,.0f}"
    return f"{value:,.{fmt}f}"


def rfm_heatmaps(customers: pd.DataFrame, lang: str, div_id: str) -> str:
    """R score x F score: customers per cell and their mean spend, side by side."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    grid = customers.groupby(["r_score", "f_score"])["monetary"].agg(["size", "mean"])
    scores = list(range(1, 6))
    # plotly puts the first category at the bottom: R 5 (most recent) ends up on top
    counts = grid["size"].unstack().reindex(index=scores, columns=scores)
    means = grid["mean"].unstack().reindex(index=scores, columns=scores)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(text("heat_customers", lang), text("heat_monetary", lang)),
        horizontal_spacing=0.12,
    )
    for col, (m, fmt) in enumerate(((counts, "d"), (means, "0")), start=1):
        fig.add_trace(
            go.Heatmap(
                z=m.to_numpy(dtype="float64"),
                x=[str(s) for s in m.columns],
                y=[str(s) for s in m.index],
                text=[[_cell(v, fmt) for v in row] for row in m.to_numpy(dtype="float64")],
                texttemplate="%{text}",
                colorscale=HEAT,
                showscale=False,
                hovertemplate="R %{y} · F %{x}: %{text}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title=text("f_score", lang), type="category", row=1, col=col)
        fig.update_yaxes(title=text("r_score", lang), type="category", row=1, col=col)
    _layout(fig, height=400)
    return to_div(fig, div_id)


def lines(
    df: pd.DataFrame,
    x: str,
    series: Sequence[tuple[str, str]],
    *,
    title: str,
    div_id: str,
    y_format: str = ",.0f",
) -> str:
    """Lines of ``df[col]`` against ``df[x]``; ``series`` is (column, legend name)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (col, name) in enumerate(series):
        fig.add_scatter(
            x=df[x],
            y=df[col],
            name=name,
            mode="lines+markers",
            line={"color": PALETTE[i % len(PALETTE)]},
            hovertemplate=f"%{{x}}: %{{y:{y_format}}}<extra>{name}</extra>",
        )
    _layout(fig, height=320, title=title)
    fig.update_xaxes(type="category")  # "2024-01" stays as written, not an English date
    fig.update_yaxes(tickformat=y_format)
    return to_div(fig, div_id)


def timing_bars(timing: dict[str, pd.DataFrame], lang: str, div_id: str) -> str:
    """Orders by weekday, hour and month of year, side by side."""
    from plotly.subplots import make_subplots

    days = text("weekdays", lang).split(",")
    months = text("months", lang).split(",")
    names = {
        "weekday": lambda v: days[int(v)],
        "hour": lambda v: str(int(v)),
        "month": lambda v: months[int(v) - 1],
    }
    units = [u for u in ("weekday", "hour", "month") if u in timing and timing[u] is not None]
    keys = {"weekday": "by_weekday", "hour": "by_hour", "month": "by_month"}
    fig = make_subplots(
        rows=1,
        cols=max(1, len(units)),
        subplot_titles=[text(keys[u], lang) for u in units],
        column_widths=[{"weekday": 0.25, "hour": 0.45, "month": 0.3}[u] for u in units] or None,
    )
    for i, unit in enumerate(units, start=1):
        df = timing[unit]
        fig.add_bar(
            x=[names[unit](v) for v in df[unit]],
            y=df["orders"],
            marker_color=PALETTE[i - 1],
            name=text(keys[unit], lang),
            customdata=df["revenue"],
            hovertemplate="%{x}: %{y:,} · %{customdata:,.0f}<extra></extra>",
            row=1,
            col=i,
        )
        fig.update_xaxes(type="category", row=1, col=i)
    _layout(fig, height=320, showlegend=False)
    fig.update_yaxes(title=text("orders", lang), row=1, col=1)
    return to_div(fig, div_id)


def hbars(
    labels: Sequence[str], values: Sequence[float], *, title: str, div_id: str, fmt: str = ",.0f"
) -> str:
    """Horizontal bars, largest on top."""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Bar(
            y=list(labels),
            x=list(values),
            orientation="h",
            marker_color=PALETTE[0],
            hovertemplate=f"%{{y}}: %{{x:{fmt}}}<extra></extra>",
        )
    )
    _layout(fig, height=max(260, 40 + 26 * len(labels)), title=title)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(tickformat=fmt)
    return to_div(fig, div_id)
