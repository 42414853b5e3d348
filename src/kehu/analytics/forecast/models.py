"""Per-series statistical models: fit, predict and the fallbacks for short series.

Library: **statsforecast** (Nixtla).  Its AutoETS, AutoARIMA, AutoTheta and
SeasonalNaive are compiled (C++), select their own specification per series,
give prediction intervals, and fit a monthly series in tens of milliseconds,
which is what "thousands of series in minutes" needs; statsmodels fits the same
families several times slower in pure Python/NumPy and has no automatic ARIMA.
We call the model classes on NumPy arrays, not the ``StatsForecast`` data-frame
front end, so nothing here depends on its pandas version; the import is lazy.

Regressors (holidays, promotions) enter every model as a regression with
time-series errors, estimated in two stages: the regressor effects are found by
least squares of ``y`` on an intercept, a trend, Fourier terms of the season
(so that seasonality is not credited to a holiday) and the regressors; the
model is fit to ``y`` minus those effects, which are added back to the
forecast and its interval.  statsforecast's AutoETS keeps a season of at most
24 periods, so for longer seasons (52 weeks) ETS and ARIMA get the season from
Fourier terms in the same regression (dynamic harmonic regression) and model
the rest without a season; Theta decomposes any season itself.

Fallbacks, recorded in ``note``: a series shorter than two seasons gets the
model without its season; one with fewer than :data:`MIN_OBS` values, a
constant one, or one on which the model fails gets the (seasonal) naive model.
Forecasts of a series that never went negative are clipped at 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kehu.exceptions import ConfigError

MODELS = ("auto_ets", "auto_arima", "theta", "ensemble", "seasonal_naive")
#: members of the "ensemble": the mean of their forecasts and of their bounds
ENSEMBLE = ("auto_ets", "theta")
#: fewest observations for a fitted model; shorter series get the naive forecast
MIN_OBS = 4
#: longest season statsforecast's ETS keeps
MAX_ETS_SEASON = 24
#: Fourier harmonics for a long season
LONG_SEASON_K = 10
#: the yearly cycle of daily data, added to the nuisance part of the regression
YEAR_DAYS = 365.25


@dataclass
class Member:
    """One fitted model of a series: the statsforecast object and its season terms."""

    name: str
    fitted: Any
    season: int
    fourier_coef: np.ndarray | None = None


@dataclass
class SeriesModel:
    """Everything needed to forecast one series."""

    model: str
    season: int
    n: int
    period: float
    members: list[Member] = field(default_factory=list)
    beta: np.ndarray | None = None  # effect of each regressor column (0 where unused)
    nonnegative: bool = True
    note: str = ""


def fourier(t: np.ndarray, period: float, k: int) -> np.ndarray:
    """``[sin, cos](2 pi j t / period)`` for j = 1..k, as columns."""
    if k <= 0 or period <= 1:
        return np.empty((len(t), 0))
    ang = 2.0 * np.pi * np.outer(t, np.arange(1, k + 1)) / period
    return np.hstack([np.sin(ang), np.cos(ang)])


def _harmonics(period: float) -> int:
    return int(min(LONG_SEASON_K, period // 2)) if period > MAX_ETS_SEASON else int(period // 2)


def _design(t: np.ndarray, n: int, period: float, daily: bool) -> np.ndarray:
    """Nuisance columns: intercept, trend, season and (daily data, two years) the year."""
    cols = [np.ones(len(t)), t / max(n, 1)]
    blocks = [np.column_stack(cols)]
    if period > 1 and n >= 2 * period:
        blocks.append(fourier(t, period, _harmonics(period)))
    if daily and n >= 2 * YEAR_DAYS:
        blocks.append(fourier(t, YEAR_DAYS, 4))
    return np.hstack(blocks)


def _regression(
    y: np.ndarray, X: np.ndarray | None, period: float, daily: bool
) -> tuple[np.ndarray | None, np.ndarray | None, int]:
    """Least-squares effects of the regressors and of the long-season Fourier terms.

    Returns ``(beta, season_coef, k)``: ``beta`` has one entry per column of
    ``X`` (0 for a column constant over the history, which carries no
    information); ``season_coef`` the 2k Fourier coefficients of the season.
    """
    n = len(y)
    t = np.arange(n, dtype="float64")
    D = _design(t, n, period, daily)
    n_base = D.shape[1]
    k = _harmonics(period) if (period > MAX_ETS_SEASON and n >= 2 * period) else 0
    use = np.zeros(0, dtype=bool)
    if X is not None and X.shape[1]:
        use = np.ptp(X, axis=0) > 0
        D = np.hstack([D, X[:, use]])
    if D.shape[1] == n_base and k == 0:
        return None, None, 0
    coef, *_ = np.linalg.lstsq(D, y, rcond=None)
    beta = None
    if X is not None and X.shape[1]:
        beta = np.zeros(X.shape[1])
        beta[use] = coef[n_base:]
    season_coef = coef[2 : 2 + 2 * k] if k else None
    return beta, season_coef, k


def require_statsforecast() -> None:
    """Raise :class:`ConfigError` with the install command when statsforecast is missing."""
    try:
        import statsforecast.models  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"sales forecasts need the statsforecast package ({exc}); "
            "install it with: pip install statsforecast"
        ) from None


def _make(name: str, season: int) -> Any:
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive, SeasonalNaive

    if name == "auto_ets":
        return AutoETS(season_length=season)
    if name == "auto_arima":
        return AutoARIMA(season_length=season)
    if name == "theta":
        return AutoTheta(season_length=season)
    if name == "seasonal_naive" and season > 1:
        return SeasonalNaive(season_length=season)
    return Naive()


def fit_series(
    y: np.ndarray,
    X: np.ndarray | None,
    model: str,
    season: int,
    period: float | None = None,
    daily: bool = False,
) -> SeriesModel:
    """Fit ``model`` to one series (with regressor matrix ``X``, rows aligned with ``y``)."""
    y = np.asarray(y, dtype="float64")
    n = len(y)
    period = float(period or season)
    sm = SeriesModel(
        model=model, season=season, n=n, period=period, nonnegative=bool((y >= 0).all())
    )
    notes = []
    if n < MIN_OBS or np.ptp(y) == 0:
        why = f"{n} observation(s) < {MIN_OBS}" if n < MIN_OBS else "constant series"
        sm.model, sm.season = "naive", 1
        sm.members = [Member("naive", _make("naive", 1).fit(y), 1)]
        sm.note = f"naive forecast: {why}"
        return sm
    if season > 1 and n < 2 * season:
        notes.append(f"no season: {n} observations < two seasons ({2 * season})")
        season = sm.season = 1
        period = sm.period = 1.0
    sm.beta, season_coef, k = _regression(y, X, period, daily)
    adj = y - X @ sm.beta if sm.beta is not None else y
    names = ENSEMBLE if model == "ensemble" else (model,)
    for name in names:
        try:
            sm.members.append(_fit_member(name, adj, season, period, season_coef, k))
        except Exception as exc:  # a model that fails on one series must not stop thousands
            fb = "seasonal_naive" if season > 1 else "naive"
            notes.append(f"{name} failed ({type(exc).__name__}: {str(exc)[:80]}); {fb} used")
            sm.members.append(Member(fb, _make(fb, season).fit(adj), season))
    if model != "ensemble" and sm.members[0].name != model:
        sm.model = sm.members[0].name
    sm.note = "; ".join(notes)
    return sm


def _fit_member(
    name: str, y: np.ndarray, season: int, period: float, season_coef: np.ndarray | None, k: int
) -> Member:
    long = (
        season > MAX_ETS_SEASON and name in ("auto_ets", "auto_arima") and season_coef is not None
    )
    if long:
        # the season comes from the Fourier terms; the model sees the rest
        t = np.arange(len(y), dtype="float64")
        y = y - fourier(t, period, k) @ season_coef
        season = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = _make(name, season).fit(y)
    return Member(name, fitted, season, season_coef if long else None)


def predict_series(
    sm: SeriesModel, h: int, X_future: np.ndarray | None, levels: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Mean and ``lo-L``/``hi-L`` bounds for the next ``h`` periods of one series."""
    shift = np.zeros(h)
    if sm.beta is not None and X_future is not None:
        shift = X_future @ sm.beta
    parts = []
    for m in sm.members:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = m.fitted.predict(h=h, level=list(levels))
        add = shift.copy()
        if m.fourier_coef is not None:
            t = np.arange(sm.n, sm.n + h, dtype="float64")
            add += fourier(t, sm.period, len(m.fourier_coef) // 2) @ m.fourier_coef
        parts.append({key: np.asarray(v, dtype="float64") + add for key, v in res.items()})
    keys = ["mean", *[f"{side}-{lv}" for lv in levels for side in ("lo", "hi")]]
    out = {key: np.mean([p.get(key, np.full(h, np.nan)) for p in parts], axis=0) for key in keys}
    if sm.nonnegative:
        out = {key: np.maximum(v, 0.0) for key, v in out.items()}
    return out
