"""Predictions as use cases: lifetime value and recommendations over imported files.

Each use case writes its table(s) and a machine-readable ``params.json`` or
``metrics.json`` beside them, so that results can be checked by a script.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kehu.analytics.rfm import as_date
from kehu.atomic import atomic_path
from kehu.config import Settings
from kehu.exceptions import ConfigError, SchemaError
from kehu.services.analysis import PathArg, load

PURCHASE_MODELS = ("bgnbd", "pnbd")


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(
            json.dumps(payload, ensure_ascii=False, indent=2, default=_plain), encoding="utf-8"
        )
    return path


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and dates."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return path


def write_tables(
    path: Path, frame: pd.DataFrame, formats: Sequence[str], lang: str
) -> dict[str, Path]:
    """``frame`` as Parquet at ``path``, plus CSV and/or Excel copies with translated headers.

    Returns the files keyed by ``path.stem`` (and ``STEM_csv``, ``STEM_xlsx``).
    """
    from kehu.report.excel import write_table

    for fmt in formats:
        if fmt not in ("csv", "xlsx"):
            raise ConfigError(f"--format must be csv or xlsx, got {fmt!r}")
    out = {path.stem: write_parquet(path, frame)}
    for fmt in formats:
        out[f"{path.stem}_{fmt}"] = write_table(frame, path.with_suffix(f".{fmt}"), lang)
    return out


@dataclass
class Output:
    """What a prediction use case wrote: its main table, its figures, and the files."""

    table: pd.DataFrame
    metrics: dict[str, Any] | None
    files: dict[str, Path]


@dataclass
class CLVResult:
    customers: pd.DataFrame
    params: dict[str, Any]
    holdout: pd.DataFrame | None
    files: dict[str, Path]


def clv_files(
    paths: PathArg,
    *,
    settings: Settings,
    out_dir: str | Path,
    calibration_end: str | dt.date,
    holdout_end: str | dt.date | None = None,
    unit: str = "week",
    model: str = "bgnbd",
    horizon_days: int = 365,
    discount_rate: float = 0.0,
    margin: float = 1.0,
    mapping: Sequence[str] = (),
    formats: Sequence[str] = (),
) -> CLVResult:
    """Fit a purchase model and Gamma-Gamma on the calibration period; value every customer.

    ``horizon_days`` is converted to the time unit; ``discount_rate`` is per
    time unit.  With ``holdout_end`` the holdout comparison (predicted against
    actual repeat purchases per calibration-frequency group) is written too.
    """
    from kehu.analytics.clv import (
        BetaGeoModel,
        GammaGammaModel,
        ParetoNBDModel,
        clv_summary,
        customer_value,
        holdout_comparison,
    )

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

    imported = load(paths, settings=settings, mapping=mapping)
    summary = clv_summary(
        imported.orders, calibration_end=cal_end, observation_end=hold_end, unit=unit
    ).to_pandas()
    if summary.empty:
        raise SchemaError(f"no customer has a purchase on or before {cal_end}")
    purchases = (BetaGeoModel() if model == "bgnbd" else ParetoNBDModel()).fit(summary)
    repeat = summary[summary.frequency > 0]
    spend = GammaGammaModel().fit(repeat) if len(repeat) >= 3 else None
    per_unit = 7.0 if unit == "week" else 1.0
    values = customer_value(
        purchases,
        spend if spend is not None else float(repeat.monetary_value.mean() or 0.0),
        summary,
        horizon=horizon_days / per_unit,
        discount_rate=discount_rate,
        margin=margin,
    )
    customers = summary.merge(values, on="customer_id")
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
    out_dir = Path(out_dir)
    files = {
        **write_tables(out_dir / "customers.parquet", customers, formats, settings.lang),
        "params": write_json(out_dir / "params.json", params),
        "model": _save(purchases, out_dir / f"{model}.zip"),
    }
    if spend is not None:
        files["spend_model"] = _save(spend, out_dir / "gamma_gamma.zip")
    holdout = None
    if hold_end is not None:
        holdout = holdout_comparison(purchases, summary)
        files["holdout"] = write_parquet(out_dir / "holdout.parquet", holdout)
        files["metrics"] = write_json(
            out_dir / "metrics.json",
            {
                "holdout_actual": float(summary.frequency_holdout.sum()),
                "holdout_predicted": float(holdout.predicted.sum()),
                "by_frequency": holdout.to_dict(orient="records"),
            },
        )
    return CLVResult(customers=customers, params=params, holdout=holdout, files=files)


def _save(model: Any, path: Path) -> Path:
    """The model's file (:mod:`kehu.analytics.estimator`: one zip, written atomically)."""
    return model.save(path)


def recommend_files(
    paths: PathArg,
    *,
    settings: Settings,
    out_dir: str | Path,
    split_date: str | dt.date | None = None,
    k: int = 10,
    model: str = "ease",
    opt_out: Sequence[str] = (),
    mapping: Sequence[str] = (),
    formats: Sequence[str] = (),
) -> Output:
    """Top-k products per customer; with ``split_date``, the time-split evaluation too."""
    from kehu.analytics.recommend import Recommender, evaluate_split

    if k <= 0:
        raise ConfigError(f"-k must be a positive number of products, got {k}")
    imported = load(paths, settings=settings, mapping=mapping)
    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    metrics = None
    if split_date is not None:
        split = as_date(split_date, "--split-date")
        metrics = evaluate_split(
            imported.orders, split, k=k, recommender=Recommender(k=k, model=model)
        )
        files["metrics"] = write_json(out_dir / "metrics.json", metrics)
    rec = Recommender(k=k, model=model).fit(imported.orders, as_of=settings.as_of)
    table = rec.recommend(k=k, opt_out=set(opt_out) or None)
    files.update(write_tables(out_dir / "recommendations.parquet", table, formats, settings.lang))
    return Output(table=table, metrics=metrics, files=files)


def churn_files(
    paths: PathArg,
    *,
    settings: Settings,
    out_dir: str | Path,
    cutoff: str | dt.date | None = None,
    horizon_days: int = 90,
    customers: PathArg | None = None,
    products: PathArg | None = None,
    mapping: Sequence[str] = (),
    formats: Sequence[str] = (),
) -> Output:
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
    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    metrics = None
    if cutoff is not None:
        test = as_date(cutoff, "--cutoff")
        metrics = evaluate_churn(
            imported.orders,
            train_cutoff=test - dt.timedelta(days=horizon_days),
            test_cutoff=test,
            horizon_days=horizon_days,
            products=imported.products,
        )
        files["metrics"] = write_json(out_dir / "metrics.json", metrics)
    model = ChurnModel(horizon_days=horizon_days).fit(imported.orders, products=imported.products)
    predictions = model.predict(
        imported.orders, as_of=settings.as_of, products=imported.products, language=settings.lang
    )
    files.update(write_tables(out_dir / "churn.parquet", predictions, formats, settings.lang))
    files["model"] = _save(model, out_dir / "churn_model.zip")
    return Output(table=predictions, metrics=metrics, files=files)


def forecast_files(
    paths: PathArg,
    *,
    settings: Settings,
    out_dir: str | Path,
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
    formats: Sequence[str] = (),
) -> Output:
    """Sales per period for each series (total, product, category, region or channel), forecast.

    With ``backtest_windows`` > 0 a rolling-origin backtest against seasonal
    naive is written to ``metrics.json`` first (MASE and sMAPE, overall and per
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
    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    metrics = None
    if backtest_windows > 0:
        table = Forecaster(**params).backtest(series, horizon, n_windows=backtest_windows)
        overall = table[table.scope == "overall"].iloc[0].to_dict()
        metrics = {
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
        files["metrics"] = write_json(out_dir / "metrics.json", metrics)
    forecaster = Forecaster(**params).fit(series)
    forecast = forecaster.predict(horizon)
    files.update(write_tables(out_dir / "forecast.parquet", forecast, formats, settings.lang))
    files["history"] = write_parquet(out_dir / "history.parquet", series)
    files["model"] = _save(forecaster, out_dir / "forecast_model.zip")
    return Output(table=forecast, metrics=metrics, files=files)
