"""Prediction commands: clv, recommend, churn, forecast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kehu.cli.common import (
    AsOfOpt,
    ConfigOpt,
    CustomersOpt,
    LangOpt,
    MapOpt,
    Paths,
    ProductsOpt,
    as_list,
    console,
    out,
    print_files,
    settings_from,
)

OutDir = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
FormatOpt = Annotated[
    list[str] | None,
    typer.Option("--format", help="Also write the table as csv and/or xlsx (repeatable)."),
]


def register(app: typer.Typer) -> None:
    app.command("clv")(clv_cmd)
    app.command("recommend")(recommend_cmd)
    app.command("churn")(churn_cmd)
    app.command("forecast")(forecast_cmd)


def clv_cmd(
    paths: Paths,
    calibration_end: Annotated[
        str, typer.Option("--calibration-end", help="Last day of the calibration period.")
    ],
    out_dir: OutDir = Path("clv"),
    holdout_end: Annotated[
        str | None,
        typer.Option("--holdout-end", help="Last day of the holdout period (for validation)."),
    ] = None,
    time_unit: Annotated[str, typer.Option("--time-unit", help="day or week.")] = "week",
    model: Annotated[str, typer.Option("--model", help="bgnbd or pnbd.")] = "bgnbd",
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", help="Value the next N days.")
    ] = 365,
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", help="Discount rate per time unit.")
    ] = 0.0,
    margin: Annotated[float, typer.Option("--margin", help="Profit margin (0-1].")] = 1.0,
    config: ConfigOpt = None,
    mapping: MapOpt = None,
    formats: FormatOpt = None,
    lang: LangOpt = None,
) -> None:
    """Customer lifetime value: BG/NBD (or Pareto/NBD) and Gamma-Gamma, fit by maximum likelihood.

    Writes OUT/customers.parquet (frequency, recency, T, monetary_value, probability_alive,
    expected_purchases, expected_spend, clv), OUT/params.json, the saved models, and with
    --holdout-end OUT/holdout.parquet and OUT/metrics.json (predicted vs actual repeat purchases).

    Example:

      kehu clv cdnow_sample.parquet --calibration-end 1997-09-30 --holdout-end 1998-06-30 --out clv/
    """
    from kehu.report.outputs import check_formats, prediction_files
    from kehu.services.predict import clv

    settings = settings_from(config, lang=lang)
    check_formats(formats or ())
    with console.status("fitting lifetime-value models…"):
        result = clv(
            paths,
            settings=settings,
            calibration_end=calibration_end,
            holdout_end=holdout_end,
            unit=time_unit,
            model=model,
            horizon_days=horizon_days,
            discount_rate=discount_rate,
            margin=margin,
            mapping=mapping or (),
        )
        files = prediction_files(result, out_dir, formats=formats or (), lang=settings.lang)
    p = result.figures["params"]
    params = ", ".join(f"{k} = {v:.4g}" for k, v in p["params"].items())
    out.print(f"{p['model']}: {params}; log-likelihood {p['log_likelihood']:.1f}")
    if p["spend_params"]:
        spend = ", ".join(f"{k} = {v:.4g}" for k, v in p["spend_params"].items())
        out.print(f"gamma-gamma: {spend}")
    if "holdout" in result.tables:
        holdout = result.tables["holdout"]
        actual, predicted = holdout.actual.sum(), holdout.predicted.sum()
        out.print(f"holdout repeat purchases: actual {actual:,.0f}, predicted {predicted:,.0f}")
    print_files(files)


def recommend_cmd(
    paths: Paths,
    out_dir: OutDir = Path("recommend"),
    split_date: Annotated[
        str | None,
        typer.Option("--split-date", help="Evaluate on a time split at this date first."),
    ] = None,
    k: Annotated[int, typer.Option("-k", help="Products per customer.")] = 10,
    model: Annotated[str, typer.Option("--model", help="ease or itemknn.")] = "ease",
    opt_out: Annotated[
        Path | None,
        typer.Option(
            "--opt-out", help="File of customer ids (one per line) with no personalised offers."
        ),
    ] = None,
    config: ConfigOpt = None,
    mapping: MapOpt = None,
    formats: FormatOpt = None,
    lang: LangOpt = None,
) -> None:
    """Next products to offer each customer, with a popularity fallback for new customers.

    Writes OUT/recommendations.parquet (customer_id, rank, product_id, score, reason) and, with
    --split-date, OUT/metrics.json (precision@k, recall@k, NDCG@k, coverage for the model and
    the global and per-segment popularity baselines).

    Example:

      kehu recommend online_retail.parquet --split-date 2011-09-01 --out rec/
    """
    from kehu.report.outputs import check_formats, prediction_files
    from kehu.services.predict import recommend

    settings = settings_from(config, lang=lang)
    check_formats(formats or ())
    ids: list[str] = []
    if opt_out is not None:
        if not opt_out.is_file():
            from kehu.exceptions import ConfigError

            raise ConfigError(f"--opt-out file not found: {opt_out}")
        ids = [x.strip() for x in opt_out.read_text(encoding="utf-8-sig").splitlines() if x.strip()]
    with console.status("fitting the recommender…"):
        result = recommend(
            paths,
            settings=settings,
            split_date=split_date,
            k=k,
            model=model,
            opt_out=ids,
            mapping=mapping or (),
        )
        files = prediction_files(result, out_dir, formats=formats or (), lang=settings.lang)
    if result.metrics:
        for name in ("model", "global_popularity", "segment_popularity"):
            m = result.metrics[name]
            figures = ", ".join(f"{key} {value:.4f}" for key, value in m.items())
            out.print(f"{name}: {figures}")
    print_files(files)


def churn_cmd(
    paths: Paths,
    out_dir: OutDir = Path("churn"),
    cutoff: Annotated[
        str | None,
        typer.Option(
            "--cutoff", help="Evaluate out of time: test at this date, train N days earlier."
        ),
    ] = None,
    horizon: Annotated[
        int, typer.Option("--horizon", help="Churned = no purchase in the next N days.")
    ] = 90,
    as_of: AsOfOpt = None,
    customers: CustomersOpt = None,
    products: ProductsOpt = None,
    config: ConfigOpt = None,
    mapping: MapOpt = None,
    formats: FormatOpt = None,
    lang: LangOpt = None,
) -> None:
    """Churn risk per customer with its main reasons in words (calibrated gradient boosting).

    Writes OUT/churn.parquet (customer_id, churn_risk, churn_reasons), the saved model and,
    with --cutoff, OUT/metrics.json (ROC AUC, PR AUC, top-decile lift, calibration) for the
    model and the baselines (recency alone, BG/NBD probability alive).

    Example:

      kehu churn online_retail.parquet --cutoff 2011-09-01 --horizon 90 --out churn/
    """
    from kehu.report.outputs import check_formats, prediction_files
    from kehu.services.predict import churn

    settings = settings_from(config, as_of=as_of, lang=lang)
    check_formats(formats or ())
    with console.status("fitting the churn model…"):
        result = churn(
            paths,
            settings=settings,
            cutoff=cutoff,
            horizon_days=horizon,
            customers=as_list(customers),
            products=as_list(products),
            mapping=mapping or (),
        )
        files = prediction_files(result, out_dir, formats=formats or (), lang=settings.lang)
    if result.metrics:
        for name, m in result.metrics["metrics"].items():
            figures = ", ".join(
                f"{key} {value:.3f}" for key, value in m.items() if isinstance(value, float)
            )
            out.print(f"{name}: {figures}")
    print_files(files)


def forecast_cmd(
    paths: Paths,
    out_dir: OutDir = Path("forecast"),
    by: Annotated[
        str | None,
        typer.Option("--by", help="product_id, category, region or channel (default: total)."),
    ] = None,
    freq: Annotated[
        str, typer.Option("--freq", help="D (daily), W (weekly) or M (monthly).")
    ] = "W",
    horizon: Annotated[int, typer.Option("--horizon", help="Periods to forecast.")] = 12,
    model: Annotated[
        str, typer.Option("--model", help="auto_ets, auto_arima, theta, ensemble.")
    ] = "auto_ets",
    measure: Annotated[str, typer.Option("--measure", help="amount or quantity.")] = "amount",
    no_holidays: Annotated[
        bool, typer.Option("--no-holidays", help="Leave out the Chinese holiday regressors.")
    ] = False,
    backtest: Annotated[
        bool, typer.Option("--backtest", help="Rolling-origin backtest against seasonal naive.")
    ] = False,
    windows: Annotated[int, typer.Option("--windows", help="Backtest origins.")] = 3,
    customers: CustomersOpt = None,
    products: ProductsOpt = None,
    config: ConfigOpt = None,
    mapping: MapOpt = None,
    formats: FormatOpt = None,
    lang: LangOpt = None,
) -> None:
    """Sales forecasts with prediction intervals, for stock planning (销售预测).

    Writes OUT/forecast.parquet (series_id, ds, yhat and 80%/95% intervals), OUT/history.parquet,
    the saved model and, with --backtest, OUT/metrics.json (MASE and sMAPE of the model and of
    seasonal naive, overall and per series).

    Examples:

      kehu forecast 订单.csv --products 商品.csv --by category --freq W --horizon 8 --out fc/

      kehu forecast orders.parquet --freq M --horizon 6 --backtest --out fc/
    """
    from kehu.report.outputs import check_formats, prediction_files
    from kehu.services.predict import forecast

    settings = settings_from(config, lang=lang)
    check_formats(formats or ())
    with console.status("forecasting…"):
        result = forecast(
            paths,
            settings=settings,
            by=by,
            freq=freq,
            horizon=horizon,
            model=model,
            measure=measure,
            holidays=not no_holidays,
            backtest_windows=windows if backtest else 0,
            customers=as_list(customers),
            products=as_list(products),
            mapping=mapping or (),
        )
        files = prediction_files(result, out_dir, formats=formats or (), lang=settings.lang)
    if result.metrics:
        for name, m in result.metrics["overall"].items():
            out.print(f"{name}: MASE {m['mase']:.3f}, sMAPE {m['smape']:.2f}")
    print_files(files)
