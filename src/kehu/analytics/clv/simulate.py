"""Simulate customers from the purchase and spend models, vectorised with numpy.

Per-customer summaries are drawn directly, without generating purchases:
given ``n`` Poisson arrivals in ``(0, L]``, the ``k``-th arrival time is
``L * Beta(k, n-k+1)`` (an order statistic of uniforms), so

* BG/NBD: ``n ~ Poisson(lambda T)`` arrivals while ignoring dropout, the
  customer survives ``K ~ Geometric(p)`` repeat purchases, ``x = min(n, K)``
  and ``t_x = T Beta(x, n-x+1)``;
* Pareto/NBD: lifetime ``tau ~ Exp(mu)``, ``L = min(tau, T)``,
  ``x ~ Poisson(lambda L)`` and ``t_x = L Beta(x, 1)``;
* Gamma-Gamma: the mean of ``x`` values ``Gamma(p, nu)`` is ``Gamma(p x, x nu)``.

:func:`simulate_transactions` turns a summary into order lines (the earlier
repeat purchases are uniform on ``(0, t_x)`` given ``t_x``), for testing and
benchmarking the engine-side summary.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from kehu.analytics.clv.summary import unit_days
from kehu.analytics.rfm import DateLike, as_date
from kehu.exceptions import SchemaError


def _ages(n: int, T: Any, rng: np.random.Generator) -> np.ndarray:
    """``T`` as one value per customer: a number, an array, or ``(low, high)`` uniform."""
    if n <= 0:
        raise SchemaError(f"the number of customers must be positive, got {n}")
    if isinstance(T, tuple):
        low, high = T
        ages = rng.uniform(low, high, n)
    else:
        ages = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    if np.any(ages <= 0):
        raise SchemaError("T must be positive for every simulated customer")
    return ages


def _last_arrival(length: np.ndarray, x: np.ndarray, n: np.ndarray, rng) -> np.ndarray:
    """Time of the ``x``-th of ``n`` uniform arrivals on ``(0, length]`` (0 when x = 0)."""
    t = np.zeros_like(length)
    some = x > 0
    t[some] = length[some] * rng.beta(x[some], n[some] - x[some] + 1)
    return t


def _frame(x, tx, T) -> pd.DataFrame:
    ids = pd.RangeIndex(len(x)).astype(str)
    return pd.DataFrame({"customer_id": ids, "frequency": x, "recency": tx, "T": T})


def simulate_bgnbd(
    n: int, *, r: float, alpha: float, a: float, b: float, T: Any = 39.0, seed: Any = None
) -> pd.DataFrame:
    """``n`` customer summaries (``customer_id, frequency, recency, T``) from BG/NBD."""
    rng = np.random.default_rng(seed)
    ages = _ages(n, T, rng)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    arrivals = rng.poisson(lam * ages)
    survived = rng.geometric(p)  # the repeat purchase after which the customer drops out
    x = np.minimum(arrivals, survived)
    tx = _last_arrival(ages, x, arrivals, rng)
    return _frame(x.astype("int64"), tx, ages)


def simulate_pareto_nbd(
    n: int, *, r: float, alpha: float, s: float, beta: float, T: Any = 39.0, seed: Any = None
) -> pd.DataFrame:
    """``n`` customer summaries (``customer_id, frequency, recency, T``) from Pareto/NBD."""
    rng = np.random.default_rng(seed)
    ages = _ages(n, T, rng)
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    alive_for = np.minimum(rng.exponential(1.0 / mu), ages)
    x = rng.poisson(lam * alive_for)
    tx = _last_arrival(alive_for, x, x, rng)
    return _frame(x.astype("int64"), tx, ages)


def simulate_spend(
    frequency: Any, *, p: float, q: float, gamma: float, seed: Any = None
) -> np.ndarray:
    """Mean value of each customer's ``frequency`` repeat purchases (0 when none)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(q, 1.0 / gamma, len(x))
    out = np.zeros(len(x))
    some = x > 0
    out[some] = rng.gamma(p * x[some], 1.0 / (x[some] * nu[some]))
    return out


def simulate_transactions(
    summary: pd.DataFrame,
    *,
    calibration_end: DateLike = "2024-12-31",
    unit: str | float = "week",
    spend: tuple[float, float, float] = (6.0, 4.0, 15.0),
    seed: Any = None,
) -> pd.DataFrame:
    """Order lines (``customer_id, order_time, amount``) behind a simulated summary.

    Customer ``i`` buys first at ``calibration_end - T_i`` and then
    ``frequency_i`` times, the last at ``recency_i``; each purchase is worth
    ``Gamma(p, nu_i)`` with ``nu_i ~ Gamma(q, gamma)`` (``spend = (p, q, gamma)``).
    Times keep their seconds, so purchases that fall on one day merge in the
    day-level summary, as real ones do.
    """
    rng = np.random.default_rng(seed)
    x = summary["frequency"].to_numpy(dtype="int64")
    tx = summary["recency"].to_numpy(dtype=float)
    ages = summary["T"].to_numpy(dtype=float)
    n = len(x)
    per = x + 1  # the first purchase and the repeats
    owner = np.repeat(np.arange(n), per)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(per) - per, per)
    # the first purchase at 0, the last repeat at t_x, those between uniform on (0, t_x)
    times = rng.uniform(0.0, 1.0, len(owner)) * tx[owner]
    times[rank == 0] = 0.0
    last = np.cumsum(per) - 1
    times[last[x > 0]] = tx[x > 0]
    p, q, gamma = spend
    nu = rng.gamma(q, 1.0 / gamma, n)
    amount = rng.gamma(p, 1.0 / nu[owner])
    end = dt.datetime.combine(as_date(calibration_end, "calibration_end"), dt.time(23, 59, 59))
    seconds = np.round((times - ages[owner]) * unit_days(unit) * 86400.0).astype("int64")
    order_time = pd.Timestamp(end) + pd.to_timedelta(seconds, unit="s")
    ids = summary["customer_id"].astype(str).to_numpy() if "customer_id" in summary else owner
    return pd.DataFrame(
        {"customer_id": np.asarray(ids)[owner], "order_time": order_time, "amount": amount}
    )
