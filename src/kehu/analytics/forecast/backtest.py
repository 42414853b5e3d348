"""Rolling-origin backtests: MASE and sMAPE of a model and of seasonal naive.

For ``n_windows`` forecast origins ``step`` periods apart, the last window
ending at the last observation, every series is cut at the origin, the model
and the seasonal naive benchmark are fit on the part before it and forecast
the next ``h`` periods, which are compared with what happened.

* **MASE** (mean absolute scaled error, Hyndman & Koehler 2006): the forecast's
  mean absolute error divided by the in-sample mean absolute error of the
  seasonal naive forecast on the training part (lag ``m``, the season length;
  lag 1 when the training part is not longer than a season).  Undefined (NaN)
  for a training part that never changes.
* **sMAPE**, in percent, as in the M4 competition:
  ``200 / h * sum(|y - f| / (|y| + |f|))``, a term with ``y = f = 0`` counting 0.

Per series each metric is the mean over its windows; the overall row is the
mean over series (ignoring NaN), with ``relative_mase`` = model / seasonal naive.
"""

from __future__ import annotations

import warnings

import numpy as np

from kehu.analytics.forecast.models import fit_series, predict_series


def mase_scale(train: np.ndarray, season: int) -> float:
    """In-sample mean absolute error of the seasonal naive forecast (NaN if 0)."""
    lag = season if len(train) > season else 1
    if len(train) <= lag:
        return float("nan")
    scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
    return scale if scale > 0 else float("nan")


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, season: int) -> float:
    """Mean absolute scaled error of one forecast."""
    return float(np.mean(np.abs(actual - forecast))) / mase_scale(train, season)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric mean absolute percentage error (0-200), 0/0 terms counting 0."""
    num = np.abs(actual - forecast)
    den = np.abs(actual) + np.abs(forecast)
    terms = np.divide(num, den, out=np.zeros_like(num, dtype="float64"), where=den > 0)
    return float(200.0 * np.mean(terms))


def nanmean(a: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Mean ignoring NaN; NaN (without a warning) where there is nothing to average."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def origins(n: int, h: int, n_windows: int, step: int) -> list[int]:
    """Training lengths of the windows whose test part fits in ``n`` values (oldest first)."""
    cuts = [n - h - step * (n_windows - 1 - i) for i in range(n_windows)]
    return [c for c in cuts if c >= 1]


def backtest_series(
    y: np.ndarray,
    X: np.ndarray | None,
    *,
    model: str,
    season: int,
    period: float,
    daily: bool,
    h: int,
    n_windows: int,
    step: int,
) -> dict[str, float]:
    """Metrics of ``model`` and of seasonal naive for one series over its windows."""
    rows = []
    notes = set()
    for cut in origins(len(y), h, n_windows, step):
        train, test = y[:cut], y[cut : cut + h]
        Xt = X[:cut] if X is not None else None
        Xf = X[cut : cut + h] if X is not None else None
        fit = fit_series(train, Xt, model, season, period, daily)
        base = fit_series(train, None, "seasonal_naive", season, period, daily)
        f = predict_series(fit, h, Xf, ())["mean"]
        b = predict_series(base, h, None, ())["mean"]
        rows.append(
            (
                mase(test, f, train, season),
                smape(test, f),
                mase(test, b, train, season),
                smape(test, b),
            )
        )
        if fit.note:
            notes.add(fit.note)
    if not rows:
        return {"windows": 0, "mase": np.nan, "smape": np.nan, "mase_snaive": np.nan,
                "smape_snaive": np.nan, "note": f"too short for a {h}-period test"}  # fmt: skip
    m = nanmean(np.array(rows, dtype="float64"), axis=0)
    return {"windows": len(rows), "mase": m[0], "smape": m[1], "mase_snaive": m[2],
            "smape_snaive": m[3], "note": "; ".join(sorted(notes))}  # fmt: skip
