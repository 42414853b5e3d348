"""Report sections about the prediction models: lifetime value, churn, forecasts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kehu.i18n import text
from kehu.report import charts


def prediction_sections(predictions: dict[str, Any] | None, lang: str) -> list[dict[str, Any]]:
    """Sections for whatever models ran; none when no model ran."""
    if not predictions:
        return []
    sections = []
    if "clv" in predictions:
        sections.append(_clv(predictions["clv"], lang))
    if "churn" in predictions:
        sections.append(_churn(predictions["churn"], lang))
    if "forecast" in predictions:
        sections.append(_forecast(predictions["forecast"], lang))
    return sections


def _clv(clv: dict[str, Any], lang: str) -> dict[str, Any]:
    import plotly.graph_objects as go

    values = np.asarray(clv["values"], dtype=float)
    values = values[np.isfinite(values)]
    fig = go.Figure(
        go.Histogram(
            x=np.clip(values, 0, np.quantile(values, 0.99)) if len(values) else values,
            nbinsx=40,
            marker_color=charts.PALETTE[0],
        )
    )
    charts._layout(fig, height=320, title=text("clv_distribution", lang))
    parts = [charts.to_div(fig, "chart-clv")]
    params = ", ".join(f"{k}={v:.3g}" for k, v in clv.get("params", {}).items())
    notes = [text("clv_total", lang).format(total=f"{values.sum():,.0f}", params=params)]
    holdout = clv.get("holdout")
    if holdout is not None and len(holdout):
        df = pd.DataFrame(holdout).assign(frequency=lambda d: d.frequency.astype(str))
        parts.append(
            charts.lines(
                df,
                "frequency",
                [
                    ("actual_mean", text("actual", lang)),
                    ("predicted_mean", text("predicted", lang)),
                ],
                title=text("clv_holdout", lang),
                div_id="chart-clv-holdout",
                y_format=".2f",
            )
        )
    return {"id": "clv", "title": text("sec_clv", lang), "notes": notes, "charts": parts}


def _churn(churn: dict[str, Any], lang: str) -> dict[str, Any]:
    import plotly.graph_objects as go

    gains = pd.DataFrame(churn["gains"])
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        name=text("score_random", lang),
        mode="lines",
        line={"dash": "dot", "color": "#999"},
    )
    for i, (score, g) in enumerate(gains.groupby("score", sort=False)):
        fig.add_scatter(
            x=[0, *g.share_of_customers],
            y=[0, *g.share_of_churners],
            name=text(f"score_{score}", lang),
            mode="lines+markers",
            line={"color": charts.PALETTE[i % len(charts.PALETTE)]},
        )
    title = text("churn_gains", lang).format(cutoff=churn.get("test_cutoff", ""))
    charts._layout(fig, height=380, title=title)
    fig.update_xaxes(tickformat=".0%", title=text("share_of_customers", lang))
    fig.update_yaxes(tickformat=".0%", title=text("share_of_churners", lang))
    metrics = churn["metrics"]
    names = ("roc_auc", "pr_auc", "top_decile_lift", "brier")
    rows = [
        [text(f"score_{score}", lang), *[_fmt(m.get(n)) for n in names]]
        for score, m in metrics.items()
    ]
    table = {
        "id": "churn-metrics",
        "title": "",
        "headers": [text("metric", lang), "ROC AUC", "PR AUC", "Top-10% lift", "Brier"],
        "rows": rows,
        "numeric": [False, True, True, True, True],
    }
    return {
        "id": "churn",
        "title": text("sec_churn", lang),
        "charts": [charts.to_div(fig, "chart-churn-gains")],
        "tables": [table],
    }


def _forecast(forecast: dict[str, Any], lang: str) -> dict[str, Any]:
    """History and forecast with its interval, one chart per series given."""
    import plotly.graph_objects as go

    parts = []
    level = forecast.get("level", 80)
    for i, (series, frames) in enumerate(forecast["series"].items()):
        history, future = frames["history"], frames["forecast"]
        fig = go.Figure()
        fig.add_scatter(
            x=history.ds, y=history.y, name=text("actual", lang), line={"color": charts.PALETTE[0]}
        )
        lo, hi = f"yhat_lo_{level}", f"yhat_hi_{level}"
        if lo in future.columns:
            fig.add_scatter(x=future.ds, y=future[hi], line={"width": 0}, showlegend=False)
            fig.add_scatter(
                x=future.ds,
                y=future[lo],
                fill="tonexty",
                line={"width": 0},
                fillcolor="rgba(221,107,32,0.2)",
                name=f"{level}%",
            )
        fig.add_scatter(
            x=future.ds,
            y=future.yhat,
            name=text("predicted", lang),
            line={"color": charts.PALETTE[1]},
        )
        title = text("forecast_chart", lang).format(series=series, level=level)
        charts._layout(fig, height=320, title=title)
        parts.append(charts.to_div(fig, f"chart-forecast-{i}"))
    return {"id": "forecast", "title": text("sec_forecast", lang), "charts": parts}


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.3f}"
