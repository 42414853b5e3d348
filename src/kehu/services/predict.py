"""Predictions as use cases: lifetime value, recommendations, churn and forecasts over files.

Each use case returns a :class:`Prediction`: its main table, the figures a script checks
(``params.json``, ``metrics.json``), any further tables and the fitted models.  The faces
write them (:func:`kehu.report.outputs.prediction_files`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kehu.analytics.rfm import as_date
from kehu.config import Settings
from kehu.exceptions import ConfigError, SchemaError
from kehu.services.analysis import PathArg, load

PURCHASE_MODELS = ("bgnbd", "pnbd")


@dataclass
class Prediction:
    """What a prediction use case produced.

    ``name`` is the main table's file stem; ``figures`` maps a JSON file's stem to its
    content; ``tables`` further tables by file stem; ``models`` maps a key to the fitted
    model's file stem and the model (each saves itself: :mod:`kehu.analytics.estimator`).
    """

    name: str
    table: pd.DataFrame
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    models: dict[str, tuple[str, Any]] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, Any] | None:
        return self.figures.get("metrics")


def clv(
    paths: PathArg,
    *,
    settings: Settings,
    calibration_end: str | dt.date,
    holdout_end: str | dt.date | None = None,
    unit: str = "week",
    model: str = "bgnbd",
    horizon_days: int = 365,
    discount_rate: float = 0.0,
    margin: float = 1.0,
    mapping: Sequence[str] = (),
) -> Prediction:
    """Fit a purchase model and Gamma-Gamma on the calibration period; value every customer.

    ``horizon_days`` is converted to the time unit; ``discount_rate`` is per
    time unit.  With ``holdout_end`` the holdout comparison (predicted against
    actual repeat purchases per calibration-frequency group) is returned too.
    """
    from kehu.analytics.clv import clv_summary, customer_value

    cal_end, hold_end = _clv_dates(model, unit, horizon_days, calibration_end, holdout_end)
    imported = load(paths, settings=settings, mapping=mapping)
    summary = clv_summary(
        imported.orders, calibration_end=cal_end, observation_end=hold_end, unit=unit
    ).to_pandas()
    if summary.empty:
        raise SchemaError(f"no customer has a purchase on or before {cal_end}")
    purchases, spend = _fit_clv(summary, model)
    repeat = summary[summary.frequency > 0]
    values = customer_value(
        purchases,
        spend if spend is not None else float(repeat.monetary_value.mean() or 0.0),
        summary,
        horizon=horizon_days / (7.0 if unit == "week" else 1.0),
        discount_rate=discount_rate,
        margin=margin,
    )
    params = {
        "model": model,
        "params": purchases.params_,
        "standard_errors": purchases.se_,
        "log_likelihood": purchases.log_likelihood_,
        "n_customers": purchases.n_customers_,
        "spend_model": "gamma_gamma" if spend is not None else "mean",
        "spend_params": spend.params_ if spend is not None else None,
        "spend_standard_errors": spend.se_ if spend is not None else None,
        "calibration_end": cal_end,
        "holdout_end": hold_end,
        "time_unit": unit,
        "horizon_days": horizon_days,
        "discount_rate": discount_rate,
        "margin": margin,
    }
    result = Prediction(
        name="customers",
        table=summary.merge(values, on="customer_id"),
        figures={"params": params},
        models={"model": (model, purchases)},
    )
    if spend is not None:
        result.models["spend_model"] = ("gamma_gamma", spend)
    if hold_end is not None:
        _add_holdout(result, purchases, summary)
    return result


def _clv_dates(
    model: str,
    unit: str,
    horizon_days: int,
    calibration_end: str | dt.date,
    holdout_end: str | dt.date | None,
) -> tuple[dt.date, dt.date | None]:
    """The calibration and holdout ends, once the options are checked."""
    if model not in PURCHASE_MODELS:
        raise ConfigError(f"--model must be one of {', '.join(PURCHASE_MODELS)}, got {model!r}")
    if unit not in ("day", "week"):
        raise ConfigError(f"--time-unit must be day or week, got {unit!r}")
    if horizon_days <= 0:
        raise ConfigError(f"the horizon must be a positive number of days, got {horizon_days}")
    cal_end = as_date(calibration_end, "--calibration-end")
    hold_end = as_date(holdout_end, "--holdout-end") if holdout_end is not None else None
    if hold_end is not None and hold_end <= cal_end:
        raise ConfigError(f"--holdout-end {hold_end} must be after --calibration-end {cal_end}")
    return cal_end, hold_end


def _fit_clv(summary: pd.DataFrame, model: str) -> tuple[Any, Any]:
    """The purchase model, and Gamma-Gamma when at least three customers bought again."""
    from kehu.analytics.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel

    purchases = (BetaGeoModel() if model == "bgnbd" else ParetoNBDModel()).fit(summary)
    repeat = summary[summary.frequency > 0]
    spend = GammaGammaModel().fit(repeat) if len(repeat) >= 3 else None
    return purchases, spend


def _add_holdout(result: Prediction, purchases: Any, summary: pd.DataFrame) -> None:
    """Predicted against actual repeat purchases in the holdout, per calibration frequency."""
    from kehu.analytics.clv import holdout_comparison

    holdout = holdout_comparison(purchases, summary)
    result.tables["holdout"] = holdout
    result.figures["metrics"] = {
        "holdout_actual": float(summary.frequency_holdout.sum()),
        "holdout_predicted": float(holdout.predicted.sum()),
        "by_frequency": holdout.to_dict(orient="records"),
    }


def recommend(
    paths: PathArg,
    *,
    settings: Settings,
    split_date: str | dt.date | None = None,
    k: int = 10,
    model: str = "ease",
    opt_out: Sequence[str] = (),
    mapping: Sequence[str] = (),
) -> Prediction:
    """Top-k products per customer; with ``split_date``, the time-split evaluation too."""
    from kehu.analytics.recommend import Recommender, evaluate_split

    if k <= 0:
        raise ConfigError(f"-k must be a positive number of products, got {k}")
    imported = load(paths, settings=settings, mapping=mapping)
    figures = {}
    if split_date is not None:
        split = as_date(split_date, "--split-date")
        figures["metrics"] = evaluate_split(
            imported.orders, split, k=k, recommender=Recommender(k=k, model=model)
        )
    rec = Recommender(k=k, model=model).fit(imported.orders, as_of=settings.as_of)
    table = rec.recommend(k=k, opt_out=set(opt_out) or None)
    return Prediction(name="recommendations", table=table, figures=figures)


def churn(
    paths: PathArg,
    *,
    settings: Settings,
    cutoff: str | dt.date | None = None,
    horizon_days: int = 90,
    customers: PathArg | None = None,
    products: PathArg | None = None,
    mapping: Sequence[str] = (),
) -> Prediction:
    """Churn risk of every customer now; with ``cutoff``, an out-of-time evaluation first.

    The evaluation trains at ``cutoff - horizon_days`` (labels observed up to
    ``cutoff``) and tests at ``cutoff`` (labels observed up to ``cutoff +
    horizon_days``), against recency alone and BG/NBD probability alive.  The
    model that scores customers now is fit on the latest fully observed horizon.
    """
    from kehu.analytics.churn import ChurnModel, evaluate_churn

    if horizon_days <= 0:
        raise ConfigError(f"--horizon must be a positive number of days, got {horizon_days}")
    imported = load(
        paths, settings=settings, customers=customers, products=products, mapping=mapping
    )
    figures = {}
    if cutoff is not None:
        test = as_date(cutoff, "--cutoff")
        figures["metrics"] = evaluate_churn(
            imported.orders,
            train_cutoff=test - dt.timedelta(days=horizon_days),
            test_cutoff=test,
            horizon_days=horizon_days,
            products=imported.products,
        )
    model = ChurnModel(horizon_days=horizon_days).fit(imported.orders, products=imported.products)
    predictions = model.predict(
        imported.orders, as_of=settings.as_of, products=imported.products, language=settings.lang
    )
    return Prediction(
        name="churn", table=predictions, figures=figures, models={"model": ("churn_model", model)}
    )


def forecast(
    paths: PathArg,
    *,
    settings: Settings,
    by: str | None = None,
    freq: str = "W",
    horizon: int = 12,
    model: str = "auto_ets",
    measure: str = "amount",
    holidays: bool = True,
    backtest_windows: int = 0,
    customers: PathArg | None = None,
    products: PathArg | None = None,
    mapping: Sequence[str] = (),
) -> Prediction:
    """Sales per period for each series (total, product, category, region or channel), forecast.

    With ``backtest_windows`` > 0 a rolling-origin backtest against seasonal
    naive is returned as the ``metrics`` figures (MASE and sMAPE, overall and per
    series).
    """
    from kehu.analytics.forecast import Forecaster, sales_series

    imported = load(
        paths, settings=settings, customers=customers, products=products, mapping=mapping
    )
    series = sales_series(
        imported.orders,
        by=by,
        freq=freq,
        measure=measure,
        products=imported.products,
        customers=imported.customers,
    ).to_pandas()
    if series.empty:
        raise SchemaError("there are no sales to forecast")
    params = {"model": model, "freq": freq, "holidays": "cn" if holidays else None}
    figures = {}
    if backtest_windows > 0:
        table = Forecaster(**params).backtest(series, horizon, n_windows=backtest_windows)
        overall = table[table.scope == "overall"].iloc[0].to_dict()
        figures["metrics"] = {
            "model": model,
            "horizon": horizon,
            "freq": freq,
            "windows": backtest_windows,
            "overall": {
                "model": {"mase": overall["mase"], "smape": overall["smape"]},
                "seasonal_naive": {
                    "mase": overall["mase_snaive"],
                    "smape": overall["smape_snaive"],
                },
            },
            "series": table[table.scope == "series"].to_dict(orient="records"),
        }
    forecaster = Forecaster(**params).fit(series)
    return Prediction(
        name="forecast",
        table=forecaster.predict(horizon),
        figures=figures,
        tables={"history": series},
        models={"model": ("forecast_model", forecaster)},
    )
