"""Benchmark the sales forecasts: accuracy against seasonal naive, and speed at scale.

    python bench/bench_forecast.py            # everything (about 15-25 minutes on 2 cores)
    python bench/bench_forecast.py --only scale --series 3000

Four runs, each printed as a Markdown table (paste them into ``bench/README.md``):

``aus``    ABS retail turnover, all 152 monthly State x Industry series: rolling-origin
           backtest, h = 12, three origins a year apart; every model vs seasonal naive.
``m5``     M5 (Walmart) total daily units, 1,913 days: h = 28, four origins 28 days
           apart, each model with and without the 34 event dummies as regressors.
``cn``     20 simulated daily series with a known Spring Festival effect (build-up
           +50%/+25% in the two weeks before, -60% in the holiday week), three origins
           around 春节 2025: each model with and without ``holidays="cn"``.
``scale``  N simulated weekly series (three years, yearly season, Spring Festival dip):
           fit + 12-week forecast with intervals, ``holidays="cn"``, ``n_jobs=-1``; wall time.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kehu.analytics.forecast import Forecaster, daily_holidays, holiday_features

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODELS = ("auto_ets", "auto_arima", "theta", "ensemble")


def _row(name: str, res: pd.DataFrame, seconds: float) -> str:
    o = res.iloc[-1]
    return (
        f"| {name} | {o.mase:.3f} | {o.smape:.2f} | {o.mase_snaive:.3f} | {o.smape_snaive:.2f} "
        f"| {o.relative_mase:.3f} | {seconds:.1f} |"
    )


HEADER = (
    "| model | MASE | sMAPE % | MASE seasonal naive | sMAPE % seasonal naive "
    "| relative MASE | seconds |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)


def aus(models: tuple[str, ...], n_jobs: int) -> None:
    raw = pd.read_parquet(DATA / "aus_retail" / "aus_retail_turnover_monthly.parquet")
    s = raw.rename(columns={"Series_ID": "series_id", "Month": "ds", "Turnover_AUD_million": "y"})
    s = s[["series_id", "ds", "y"]]
    print(f"\n### aus_retail: {s.series_id.nunique()} monthly series, h=12, 3 origins\n\n{HEADER}")
    for m in models:
        t = time.perf_counter()
        res = Forecaster(m, freq="M", n_jobs=n_jobs).backtest(s, h=12, n_windows=3, step=12)
        print(_row(m, res, time.perf_counter() - t), flush=True)


def m5(models: tuple[str, ...]) -> None:
    raw = pd.read_parquet(DATA / "m5_agg" / "m5_agg_demand_daily.parquet")
    s = raw.rename(columns={"date": "ds", "sales": "y"}).assign(series_id="total")
    base = s[["series_id", "ds", "y"]]
    print(f"\n### m5_agg: total daily units, {len(s)} days, h=28, 4 origins\n\n{HEADER}")
    for m in models:
        for name, frame in ((m, base), (f"{m} + events", s)):
            t = time.perf_counter()
            res = Forecaster(m, freq="D").backtest(frame, h=28, n_windows=4, step=28)
            print(_row(name, res, time.perf_counter() - t), flush=True)


def simulated_cn(n_series: int = 20, seed: int = 0) -> pd.DataFrame:
    ds = pd.date_range("2022-06-01", "2025-03-10", freq="D")
    hol = daily_holidays(ds[0], ds[-1])
    rng = np.random.default_rng(seed)
    effect = (1 + 0.5 * hol.sf_pre1 + 0.25 * hol.sf_pre2 - 0.6 * hol.sf_hol).to_numpy()
    frames = []
    for i in range(n_series):
        week = 1 + rng.uniform(0, 0.3) * np.sin(2 * np.pi * (ds.day_of_week + i) / 7)
        level = rng.uniform(50, 500)
        y = level * week * effect * (1 + rng.normal(0, 0.05, len(ds)))
        frames.append(pd.DataFrame({"series_id": f"sim{i:02d}", "ds": ds, "y": y}))
    return pd.concat(frames, ignore_index=True)


def cn(models: tuple[str, ...], n_jobs: int) -> None:
    s = simulated_cn()
    print(
        "\n### Simulated Spring Festival effect: 20 daily series, h=28, "
        f"3 origins around 春节 2025\n\n{HEADER}"
    )
    for m in models:
        for name, hol in ((m, None), (f"{m} + holidays='cn'", "cn")):
            t = time.perf_counter()
            res = Forecaster(m, freq="D", holidays=hol, n_jobs=n_jobs).backtest(
                s, h=28, n_windows=3, step=14
            )
            print(_row(name, res, time.perf_counter() - t), flush=True)


def simulated_weekly(n_series: int, seed: int = 0) -> pd.DataFrame:
    ds = pd.date_range("2022-01-03", periods=156, freq="W-MON")
    sf = holiday_features(ds, "W")
    rng = np.random.default_rng(seed)
    t = np.arange(len(ds))
    level = rng.lognormal(4, 1, n_series)[:, None]
    season = 1 + rng.uniform(0, 0.4, (n_series, 1)) * np.sin(
        2 * np.pi * t / 52.18 + rng.uniform(0, 6, (n_series, 1))
    )
    trend = 1 + rng.normal(0, 0.002, (n_series, 1)) * t
    dip = 1 - 0.5 * sf["sf_hol"].to_numpy() + 0.3 * sf["sf_pre1"].to_numpy()
    y = rng.poisson(np.clip(level * season * trend * dip, 0, None)).astype(float)
    return pd.DataFrame(
        {"series_id": np.repeat([f"p{i:05d}" for i in range(n_series)], len(ds)),
         "ds": np.tile(ds, n_series), "y": y.ravel()}
    )  # fmt: skip


def scale(models: tuple[str, ...], n_series: int) -> None:
    s = simulated_weekly(n_series)
    print(
        f"\n### Scale: {n_series:,} weekly series x 156 weeks, fit + 12-week forecast, "
        f"holidays='cn', n_jobs=-1 ({os.cpu_count()} cores)\n\n"
        "| model | fit seconds | predict seconds | series per second |\n|---|---:|---:|---:|"
    )
    for m in models:
        t = time.perf_counter()
        fc = Forecaster(m, freq="W", holidays="cn", n_jobs=-1).fit(s)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        out = fc.predict(12)
        pred_s = time.perf_counter() - t
        assert len(out) == 12 * n_series and np.isfinite(out.yhat).all()
        print(
            f"| {m} | {fit_s:.1f} | {pred_s:.1f} | {n_series / (fit_s + pred_s):.0f} |", flush=True
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", choices=["aus", "m5", "cn", "scale"], action="append")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated models")
    ap.add_argument("--series", type=int, default=3000, help="series in the scale run")
    ap.add_argument("--n-jobs", type=int, default=-1)
    args = ap.parse_args()
    models = tuple(args.models.split(","))
    runs = args.only or ["aus", "m5", "cn", "scale"]
    if "aus" in runs:
        aus(models, args.n_jobs)
    if "m5" in runs:
        m5(models)
    if "cn" in runs:
        cn(models, args.n_jobs)
    if "scale" in runs:
        scale(tuple(m for m in models if m != "auto_arima") or models, args.series)


if __name__ == "__main__":
    main()
