"""The :class:`Forecaster` estimator: fit many series, predict with intervals, backtest."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, Self

import numpy as np
import pandas as pd

from kehu.analytics.estimator import SavedEstimator
from kehu.analytics.forecast.backtest import backtest_series, nanmean
from kehu.analytics.forecast.holidays import holiday_features
from kehu.analytics.forecast.models import (
    MODELS,
    SeriesModel,
    fit_series,
    predict_series,
    require_statsforecast,
)
from kehu.analytics.forecast.series import FREQS, check_freq, future_dates, prepare_series
from kehu.exceptions import ConfigError, SchemaError

#: below this many series a process pool costs more than it saves
PARALLEL_MIN_SERIES = 64


class Forecaster(SavedEstimator):
    """Statistical sales forecasts for many series (ETS, ARIMA, Theta or their ensemble).

    Parameters
    ----------
    model
        ``"auto_ets"`` (default), ``"auto_arima"``, ``"theta"`` (AutoTheta),
        ``"ensemble"`` (mean of auto_ets and theta) or ``"seasonal_naive"``.
    freq
        ``"D"``, ``"W"`` or ``"M"``.
    season_length
        Periods per season; default 7 (daily), 52 (weekly), 12 (monthly).
    level
        Prediction-interval levels in percent.
    holidays
        ``"cn"`` adds Chinese holiday regressors (:mod:`.holidays`), else ``None``.
    n_jobs
        Worker processes for fit and backtest (``-1``: all cores).

    Notes
    -----
    ``fit`` takes a frame ``series_id, ds, y`` (see :func:`prepare_series`);
    every other numeric column is a regressor (e.g. a 0/1 promotion flag) whose
    future values ``predict`` then needs in ``X_future``.  Series shorter than
    two seasons are fit without a season, and shorter than 4 values get the
    naive forecast; ``notes_`` says which series got what.

    :meth:`save` keeps the parameters and the training arrays (the file of
    :mod:`kehu.analytics.estimator`, no pickle); :meth:`load` fits the models
    on them again, which is exact (statsforecast's fits are deterministic)
    and cheap, so the forecasts after a round trip are identical.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> s = pd.DataFrame({"series_id": "a", "y": 10 + np.arange(36) % 12,
    ...     "ds": pd.date_range("2022-01-01", periods=36, freq="MS")})
    >>> f = Forecaster("theta", freq="M").fit(s).predict(3)
    >>> list(f.columns)
    ['series_id', 'ds', 'yhat', 'yhat_lo_80', 'yhat_hi_80', 'yhat_lo_95', 'yhat_hi_95']
    """

    fitted_attribute = "models_"
    fit_call = "fit(series)"
    noun = "forecaster"

    def __init__(
        self,
        model: str = "auto_ets",
        freq: str = "D",
        season_length: int | None = None,
        level: Sequence[int] = (80, 95),
        holidays: str | None = None,
        n_jobs: int = 1,
    ):
        self.model = model
        self.freq = freq
        self.season_length = season_length
        self.level = level
        self.holidays = holidays
        self.n_jobs = n_jobs

    # --- parameters ------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        if self.model not in MODELS:
            raise ConfigError(f"unknown model {self.model!r}: use one of {', '.join(MODELS)}")
        freq = check_freq(self.freq)
        season = FREQS[freq]["season"] if self.season_length is None else self.season_length
        if not isinstance(season, (int, np.integer)) or isinstance(season, bool) or season < 1:
            raise ConfigError(f"season_length must be a whole number >= 1, got {season!r}")
        levels = _check_levels(self.level)
        if self.holidays not in (None, "cn"):
            raise ConfigError(f"holidays must be 'cn' or None, got {self.holidays!r}")
        if not isinstance(self.n_jobs, int) or self.n_jobs == 0:
            raise ConfigError(f"n_jobs must be a non-zero whole number, got {self.n_jobs!r}")
        # weekly data: the true year is 52.18 weeks, which Fourier terms can use
        period = 365.25 / 7 if (freq == "W" and season == 52) else float(season)
        require_statsforecast()
        return {"freq": freq, "season": int(season), "levels": levels, "period": period}

    # --- fit and predict -------------------------------------------------------
    def fit(self, series: Any) -> Self:
        """Fit one model per series of ``series`` (``series_id, ds, y`` + regressors)."""
        cfg = self._settings()
        df = prepare_series(series, cfg["freq"])
        regressors = [c for c in df.columns if c not in ("series_id", "ds", "y")]
        ids, last, ys, Xs = self._split(df, regressors, cfg["freq"])
        return self._fit_arrays(cfg, regressors, ids, last, ys, Xs)

    def _fit_arrays(
        self,
        cfg: dict[str, Any],
        regressors: list[str],
        ids: list[str],
        last: list[pd.Timestamp],
        ys: list[np.ndarray],
        Xs: list[np.ndarray | None],
    ) -> Self:
        """Fit the per-series models on ready arrays (from :meth:`fit` or :meth:`load`)."""
        work = functools.partial(
            _fit_many,
            model=self.model,
            season=cfg["season"],
            period=cfg["period"],
            daily=cfg["freq"] == "D",
        )
        fits = _parallel(work, list(zip(ys, Xs, strict=True)), self.n_jobs)
        self.settings_ = cfg
        self.regressors_ = regressors
        self._history = (ys, Xs)  # what save() keeps
        self.models_ = dict(zip(ids, fits, strict=True))
        self.last_ds_ = dict(zip(ids, last, strict=True))
        self.notes_ = pd.DataFrame(
            {
                "series_id": ids,
                "n": [m.n for m in fits],
                "model": [m.model for m in fits],
                "season_length": [m.season for m in fits],
                "note": [m.note for m in fits],
            }
        )
        return self

    def predict(self, h: int, X_future: Any = None) -> pd.DataFrame:
        """Forecast ``h`` periods after each series' last one, with prediction intervals.

        ``X_future`` (``series_id, ds`` and the regressor columns) is needed when
        the fitted series had regressors; holiday columns are made from the dates.

        Returns
        -------
        ``series_id, ds, yhat`` and ``yhat_lo_L, yhat_hi_L`` per level ``L``.
        """
        self._check_fitted()
        h = _check_h(h)
        cfg = self.settings_
        ids = list(self.models_)
        grid = pd.DataFrame(
            {
                "series_id": np.repeat(np.array(ids, dtype=object), h),
                "ds": np.concatenate(
                    [future_dates(self.last_ds_[i], h, cfg["freq"]).values for i in ids]
                ),
            }
        )
        X = self._future_matrix(grid, X_future)
        levels = cfg["levels"]
        out = {"mean": [], **{f"{s}-{lv}": [] for lv in levels for s in ("lo", "hi")}}
        for j, sid in enumerate(ids):
            Xf = X[j * h : (j + 1) * h] if X is not None else None
            res = predict_series(self.models_[sid], h, Xf, levels)
            for key in out:
                out[key].append(res[key])
        cols = {"yhat": np.concatenate(out["mean"])}
        for lv in levels:
            cols[f"yhat_lo_{lv}"] = np.concatenate(out[f"lo-{lv}"])
            cols[f"yhat_hi_{lv}"] = np.concatenate(out[f"hi-{lv}"])
        return grid.assign(**cols)

    def backtest(
        self, series: Any, h: int, n_windows: int = 3, step: int | None = None
    ) -> pd.DataFrame:
        """Rolling-origin backtest of this configuration against seasonal naive.

        Parameters
        ----------
        series
            As for :meth:`fit`; regressor columns hold their actual values, which
            the windows use as known future values.
        h, n_windows, step
            Horizon, number of origins and periods between origins (default ``h``).

        Returns
        -------
        One row per series (``scope="series"``) and a last ``scope="overall"``
        row (means over series): ``windows, mase, smape, mase_snaive,
        smape_snaive, relative_mase, note``.  See :mod:`.backtest`.
        """
        cfg = self._settings()
        h = _check_h(h)
        step = h if step is None else step
        for name, value in (("n_windows", n_windows), ("step", step)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"backtest: {name} must be a whole number >= 1, got {value!r}")
        df = prepare_series(series, cfg["freq"])
        regressors = [c for c in df.columns if c not in ("series_id", "ds", "y")]
        ids, _, ys, Xs = self._split(df, regressors, cfg["freq"])
        work = functools.partial(
            _backtest_many,
            model=self.model,
            season=cfg["season"],
            period=cfg["period"],
            daily=cfg["freq"] == "D",
            h=h,
            n_windows=int(n_windows),
            step=int(step),
        )
        rows = _parallel(work, list(zip(ys, Xs, strict=True)), self.n_jobs)
        per = pd.DataFrame(rows).assign(series_id=ids, scope="series")
        metrics = ["mase", "smape", "mase_snaive", "smape_snaive"]
        overall = {k: nanmean(per[k].to_numpy(dtype="float64")) for k in metrics}
        overall |= {"windows": int(per["windows"].sum()), "scope": "overall", "series_id": None}
        n_bad = int(per["mase"].isna().sum())
        overall["note"] = (
            f"{n_bad} series without a MASE (no test window or a flat history)" if n_bad else ""
        )
        res = pd.concat([per, pd.DataFrame([overall])], ignore_index=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            res["relative_mase"] = res["mase"] / res["mase_snaive"]
        cols = ["scope", "series_id", "windows", *metrics, "relative_mase", "note"]
        return res[cols].astype({"windows": "int64"})

    # --- persistence (kehu.analytics.estimator) ----------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The training arrays: :meth:`load` fits the models on them again.

        statsforecast's fitted models are nested Python objects; fitting them
        again on the same arrays is deterministic, so the forecasts after a
        round trip are identical, and a fit takes milliseconds per series.
        """
        ys, Xs = self._history
        ids = list(self.models_)
        arrays = {
            "series_id": np.array([str(i) for i in ids], dtype=str),
            "last_ds": np.array([self.last_ds_[i] for i in ids], dtype="datetime64[ns]"),
            "lengths": np.array([len(y) for y in ys], dtype=np.int64),
            "y": np.concatenate(ys) if ys else np.empty(0),
        }
        if ys and Xs[0] is not None:
            arrays["X"] = np.vstack(Xs)
        return {"settings_": self.settings_, "regressors_": self.regressors_}, arrays

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        cfg = dict(state["settings_"])
        cfg["levels"] = tuple(int(v) for v in cfg["levels"])
        require_statsforecast()
        ends = np.cumsum(arrays["lengths"])[:-1]
        ys = np.split(arrays["y"].astype("float64"), ends)
        Xs = np.split(arrays["X"], ends) if "X" in arrays else [None] * len(ys)
        ids = arrays["series_id"].tolist()
        last = [pd.Timestamp(t) for t in arrays["last_ds"]]
        self._fit_arrays(cfg, list(state["regressors_"]), ids, last, ys, Xs)

    # --- helpers ---------------------------------------------------------------
    def _split(
        self, df: pd.DataFrame, regressors: list[str], freq: str
    ) -> tuple[list[str], list[pd.Timestamp], list[np.ndarray], list[np.ndarray | None]]:
        """Per-series arrays: ids, last dates, ``y`` and the regressor matrix (holidays last)."""
        X = df[regressors].to_numpy(dtype="float64") if regressors else None
        if X is not None and not np.isfinite(X).all():
            raise SchemaError(
                f"series: regressor columns {', '.join(regressors)} have missing values"
            )
        hol = self._holiday_matrix(df["ds"], freq)
        if hol is not None:
            X = hol if X is None else np.hstack([X, hol])
        starts = np.flatnonzero(df["series_id"].ne(df["series_id"].shift()).to_numpy())
        ends = np.append(starts[1:], len(df))
        y = df["y"].to_numpy(dtype="float64")
        ids = df["series_id"].to_numpy()[starts].tolist()
        last = df["ds"].to_numpy()[ends - 1]
        ys = [y[a:b] for a, b in zip(starts, ends, strict=True)]
        Xs = [X[a:b] if X is not None else None for a, b in zip(starts, ends, strict=True)]
        return ids, [pd.Timestamp(t) for t in last], ys, Xs

    def _holiday_matrix(self, ds: pd.Series, freq: str) -> np.ndarray | None:
        if self.holidays != "cn":
            return None
        days = pd.DatetimeIndex(ds.unique()).sort_values()
        feats = holiday_features(days, freq)
        return feats.reindex(pd.DatetimeIndex(ds)).to_numpy(dtype="float64")

    def _future_matrix(self, grid: pd.DataFrame, X_future: Any) -> np.ndarray | None:
        X = None
        if self.regressors_:
            if X_future is None:
                raise SchemaError(
                    "predict: the series were fit with regressor(s) "
                    f"{', '.join(self.regressors_)}; pass their future values as X_future "
                    "(series_id, ds, ...)"
                )
            xf = _future_frame(X_future, self.regressors_, self.settings_["freq"])
            merged = grid.merge(xf, on=["series_id", "ds"], how="left", validate="one_to_one")
            values = merged[self.regressors_].to_numpy(dtype="float64")
            bad = ~np.isfinite(values).all(axis=1)
            if bad.any():
                i = int(np.argmax(bad))
                raise SchemaError(
                    f"X_future has no values for series {grid['series_id'].iloc[i]!r} on "
                    f"{pd.Timestamp(grid['ds'].iloc[i]).date()} "
                    f"({int(bad.sum())} row(s) missing in all)"
                )
            X = values
        hol = self._holiday_matrix(grid["ds"], self.settings_["freq"])
        if hol is not None:
            X = hol if X is None else np.hstack([X, hol])
        return X


def backtest(
    series: Any, h: int, n_windows: int = 3, step: int | None = None, **params: Any
) -> pd.DataFrame:
    """Function form of :meth:`Forecaster.backtest`; ``params`` go to :class:`Forecaster`."""
    return Forecaster(**params).backtest(series, h, n_windows=n_windows, step=step)


def _check_h(h: Any) -> int:
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h <= 0:
        raise ConfigError(f"the horizon h must be a whole number of periods >= 1, got {h!r}")
    return int(h)


def _check_levels(level: Any) -> tuple[int, ...]:
    values = [level] if isinstance(level, (int, float)) else list(level or ())
    out = []
    for lv in values:
        if (
            isinstance(lv, bool)
            or not isinstance(lv, (int, float, np.integer))
            or not 0 < lv < 100
            or lv != int(lv)
        ):
            raise ConfigError(f"level must be whole percentages between 0 and 100, got {level!r}")
        out.append(int(lv))
    return tuple(sorted(set(out)))


def _future_frame(X_future: Any, regressors: list[str], freq: str) -> pd.DataFrame:
    df = (
        X_future.to_pandas()
        if hasattr(X_future, "to_pandas") and not isinstance(X_future, pd.DataFrame)
        else X_future
    )
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"X_future must be a data frame, got {type(X_future).__name__}")
    missing = [c for c in ("series_id", "ds", *regressors) if c not in df.columns]
    if missing:
        raise SchemaError(f"X_future is missing column(s) {', '.join(missing)}")
    out = df[["series_id", "ds", *regressors]].copy()
    out["series_id"] = out["series_id"].astype("string").astype(object)
    out["ds"] = (
        pd.to_datetime(out["ds"])
        .dt.to_period(FREQS[freq]["period"])
        .dt.start_time.astype("datetime64[ns]")
    )
    if out.duplicated(["series_id", "ds"]).any():
        raise SchemaError("X_future has more than one row for a series and period")
    return out


def _fit_many(items: list[tuple[np.ndarray, np.ndarray | None]], **kw: Any) -> list[SeriesModel]:
    return [
        fit_series(y, X, kw["model"], kw["season"], kw["period"], kw["daily"]) for y, X in items
    ]


def _backtest_many(
    items: list[tuple[np.ndarray, np.ndarray | None]], **kw: Any
) -> list[dict[str, Any]]:
    return [backtest_series(y, X, **kw) for y, X in items]


def _parallel(func: Callable[[list], list], items: list, n_jobs: int) -> list:
    """``func`` over chunks of ``items`` in worker processes, results in order."""
    workers = (os.cpu_count() or 1) if n_jobs < 0 else n_jobs
    workers = min(workers, max(1, len(items) // (PARALLEL_MIN_SERIES // 2)))
    if workers <= 1 or len(items) < PARALLEL_MIN_SERIES:
        return func(items)
    size = math.ceil(len(items) / (workers * 4))  # several chunks per worker evens out the load
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    # The platform's default start method (fork on Linux) works from any script;
    # spawn (macOS, Windows) needs the caller's ``if __name__ == "__main__"`` guard.
    # The workers only run NumPy and statsforecast, never the parent's DuckDB.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context()) as pool:
        return [r for part in pool.map(func, chunks) for r in part]
