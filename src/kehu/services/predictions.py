"""Predictions joined into the analyst's per-customer table and report.

For every customer classified at the as-of date: probability alive and
expected purchases in the next 90 days (BG/NBD), lifetime value over a year
(with Gamma-Gamma), churn risk with its reasons (gradient boosting), and the
next products to offer; for the business, weekly sales 12 weeks ahead.  Each
model is also checked out of time so that the report can show how far to trust
it: BG/NBD predicted against actual purchases in the last 90 days, churn lift by
decile on the last fully observed horizon.

A model that cannot run on the data (too little history, too few customers)
is skipped with a note; the classification never fails because of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kehu.exceptions import KehuError

#: the per-customer prediction columns, in order
PREDICTION_COLUMNS = (
    "p_alive",
    "expected_purchases_90d",
    "clv",
    "churn_risk",
    "churn_reasons",
    "recommendations",
)
HORIZON_DAYS = 90
CLV_DAYS = 365
RECOMMENDATIONS = 5
FORECAST_WEEKS = 12


@dataclass
class Predictions:
    """Per-customer predictions and what the report shows about the models."""

    customers: pd.DataFrame  # customer_id + PREDICTION_COLUMNS (those that could run)
    report: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def predict(
    orders,
    products,
    *,
    as_of: dt.date,
    lang: str,
    opt_out: Collection[str] = (),
    reasons_in_both: bool = False,
) -> Predictions:
    """Run the CLV, churn, recommendation and forecast models on orders before ``as_of``.

    Customers in ``opt_out`` ("no personalised marketing") get the
    non-personal product list, never one made from their own purchases.  With
    ``reasons_in_both`` the churn reasons are also given as ``churn_reasons_zh`` and
    ``churn_reasons_en`` (the team's store keeps both: its pages show either language).
    """
    out = Predictions(customers=pd.DataFrame({"customer_id": pd.Series([], dtype=str)}))
    for step in (_clv, _churn, _recommendations, _forecast):
        extra = {"opt_out": set(opt_out)} if step is _recommendations else {}
        if step is _churn:
            extra = {"both": reasons_in_both}
        try:
            frame = step(orders, products, as_of, lang, out.report, **extra)
        except KehuError as exc:
            out.notes.append(f"{step.__name__.strip('_')}: skipped ({exc})")
            continue
        if frame is not None:
            out.customers = out.customers.merge(frame, on="customer_id", how="outer")
    return out


def _clv(orders, products, as_of: dt.date, lang: str, report: dict) -> pd.DataFrame:
    from kehu.analytics.clv import (
        BetaGeoModel,
        GammaGammaModel,
        clv_summary,
        customer_value,
        holdout_comparison,
    )

    last_day = as_of - dt.timedelta(days=1)
    summary = clv_summary(orders, calibration_end=last_day, unit="week").to_pandas()
    purchases = BetaGeoModel().fit(summary)
    repeat = summary[summary.frequency > 0]
    spend = GammaGammaModel().fit(repeat) if len(repeat) >= 20 else None
    value = customer_value(
        purchases,
        spend if spend is not None else float(repeat.monetary_value.mean() or 0.0),
        summary,
        horizon=CLV_DAYS / 7,
    )
    frame = pd.DataFrame(
        {
            "customer_id": summary.customer_id.astype(str),
            "p_alive": value.probability_alive.to_numpy(),
            "expected_purchases_90d": purchases.predict_purchases(HORIZON_DAYS / 7, summary),
            "clv": value.clv.to_numpy(),
        }
    )
    report["clv"] = {"values": frame.clv.to_numpy(), "params": purchases.params_}
    # validation: fit again without the last 90 days, predict them
    cal_end = as_of - dt.timedelta(days=HORIZON_DAYS + 1)
    try:
        cal = clv_summary(
            orders, calibration_end=cal_end, observation_end=last_day, unit="week"
        ).to_pandas()
        report["clv"]["holdout"] = holdout_comparison(BetaGeoModel().fit(cal), cal)
    except KehuError:
        pass
    return frame


def _churn(
    orders, products, as_of: dt.date, lang: str, report: dict, both: bool = False
) -> pd.DataFrame:
    from kehu.analytics.churn import ChurnModel, churn_features, evaluate_churn

    test_cutoff = as_of - dt.timedelta(days=HORIZON_DAYS)
    evaluation = evaluate_churn(
        orders,
        train_cutoff=test_cutoff - dt.timedelta(days=HORIZON_DAYS),
        test_cutoff=test_cutoff,
        horizon_days=HORIZON_DAYS,
        products=products,
        return_scores=True,
    )
    report["churn"] = {
        "metrics": evaluation["metrics"],
        "gains": cumulative_gains(evaluation.pop("scores")),
        "test_cutoff": test_cutoff,
    }
    model = ChurnModel(horizon_days=HORIZON_DAYS).fit(orders, cutoff=test_cutoff, products=products)
    features = churn_features(
        orders,
        as_of=as_of,
        horizon_days=HORIZON_DAYS,
        products=products,
        trend_days=model.trend_days,
    )
    scored = model.explain(features, language=lang)
    scored["customer_id"] = scored.customer_id.astype(str)
    columns = ["customer_id", "churn_risk", "churn_reasons"]
    if both:  # the same risks, their reasons worded in each language
        for other in ("zh", "en"):
            worded = model.explain(features, language=other)
            worded["customer_id"] = worded.customer_id.astype(str)
            reasons = worded.set_index("customer_id").churn_reasons
            scored[f"churn_reasons_{other}"] = scored.customer_id.map(reasons)
            columns.append(f"churn_reasons_{other}")
    return scored[columns]


def cumulative_gains(scores: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Share of churners found in the top 10 %, 20 % ... of customers by each score."""
    rows = []
    total = scores.churned.sum()
    for name in (c for c in scores.columns if c not in ("customer_id", "churned")):
        order = scores.sort_values(name, ascending=False, kind="stable").churned.to_numpy()
        cuts = np.ceil(np.arange(1, bins + 1) / bins * len(order)).astype(int)
        found = np.cumsum(order)[cuts - 1] / total if total else np.zeros(bins)
        rows += [
            {"score": name, "share_of_customers": (i + 1) / bins, "share_of_churners": f}
            for i, f in enumerate(found)
        ]
    return pd.DataFrame(rows)


def _recommendations(
    orders, products, as_of: dt.date, lang: str, report: dict, opt_out: set[str]
) -> pd.DataFrame:
    from kehu.analytics.recommend import Recommender

    rec = Recommender(k=RECOMMENDATIONS).fit(orders, as_of=as_of)
    table = rec.recommend(k=RECOMMENDATIONS, opt_out=opt_out or None)
    names: dict[str, str] = {}
    if products is not None and "name" in products.columns:
        p = products.select("product_id", "name").to_pandas().dropna()
        names = dict(zip(p.product_id.astype(str), p.name.astype(str), strict=True))
    table = table.sort_values(["customer_id", "rank"])
    shown = table.product_id.astype(str).replace(names)  # ids without a name stay ids
    joined = shown.groupby(table.customer_id.astype(str)).agg(
        "、".join if lang == "zh" else ", ".join
    )
    return joined.rename("recommendations").rename_axis("customer_id").reset_index()


def _forecast(orders, products, as_of: dt.date, lang: str, report: dict) -> None:
    """Weekly sales of the whole business and of its top categories, 12 weeks ahead."""
    import ibis

    from kehu.analytics.forecast import Forecaster, sales_series

    before = orders.filter(
        orders.order_time < ibis.timestamp(dt.datetime.combine(as_of, dt.time()))
    )
    total = sales_series(before, freq="W").to_pandas().assign(series_id="total")
    frames = [total]
    if products is not None and "category" in products.columns:
        by_category = sales_series(before, by="category", freq="W", products=products).to_pandas()
        top = by_category.groupby("series_id").y.sum().nlargest(3).index
        frames.append(by_category[by_category.series_id.isin(top)])
    series = pd.concat(frames, ignore_index=True)
    # the last week may be cut by the as-of date: leave it out of the fit
    series = series[series.ds < series.ds.max()]
    model = Forecaster(freq="W", holidays="cn").fit(series)
    forecast = model.predict(FORECAST_WEEKS)
    names = {"total": "全部销售额" if lang == "zh" else "Total sales"}
    report["forecast"] = {
        "level": 80,
        "series": {
            names.get(sid, sid): {
                "history": series[series.series_id == sid].tail(104)[["ds", "y"]],
                "forecast": forecast[forecast.series_id == sid],
            }
            for sid in series.series_id.unique()
        },
    }
