"""Customer lifetime value: expected purchases x expected spend x margin, discounted.

Over a horizon cut into steps of length ``step`` (in the summary's time unit),
the value of customer ``i`` is::

    CLV_i = margin * E[spend_i] * sum_k (E[Y_i(t_k)] - E[Y_i(t_{k-1})]) / (1 + d)^(t_k / step)

with ``t_k = min(k step, horizon)`` and ``d`` the discount rate per step: the
purchases expected in each step are discounted to today from the step's end.
With weeks as the unit, ``step = 52 / 12`` and a monthly ``d`` give the
monthly discounting of lifetimes' ``customer_lifetime_value``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from kehu.analytics.clv.base import PurchaseModel, as_frame, check_horizon
from kehu.analytics.clv.gamma_gamma import GammaGammaModel
from kehu.exceptions import SchemaError


def _spend(spend: GammaGammaModel | Any, data: pd.DataFrame) -> np.ndarray:
    if isinstance(spend, GammaGammaModel):
        return spend.predict_spend(data)
    values = np.asarray(spend, dtype=float)
    if values.shape not in ((), (len(data),)):
        raise SchemaError(f"spend: expected one value or {len(data)}, got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise SchemaError("spend: expected spend must be finite and not negative")
    return np.broadcast_to(values, (len(data),)).astype(float)


def lifetime_value(
    purchases: PurchaseModel,
    spend: GammaGammaModel | Any,
    data: Any,
    *,
    horizon: float,
    step: float = 1.0,
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> np.ndarray:
    """Discounted value of each customer of ``data`` over ``horizon`` time units.

    Parameters
    ----------
    purchases
        A fitted purchase model (BG/NBD or Pareto/NBD).
    spend
        A fitted :class:`GammaGammaModel` (its conditional expected spend), or
        the expected value per purchase: one number or one per customer.
    data
        Per-customer summary (``frequency, recency, T``, and
        ``monetary_value`` for the Gamma-Gamma model).
    horizon
        Length of the future to value, in the summary's time unit (> 0).
    step
        Length of one discounting step, in the same unit (> 0).
    discount_rate
        Discount rate per step (>= 0).
    margin
        Share of the spend that is profit (>= 0); 1 values revenue.

    Examples
    --------
    >>> lifetime_value(bgnbd, gamma_gamma, summary, horizon=52, step=52 / 12,
    ...                discount_rate=0.01, margin=0.3)  # doctest: +SKIP
    """
    check_horizon(horizon, "horizon")
    check_horizon(step, "step")
    if not (math.isfinite(discount_rate) and discount_rate >= 0):
        raise SchemaError(f"discount_rate must be >= 0, got {discount_rate!r}")
    if not (math.isfinite(margin) and margin >= 0):
        raise SchemaError(f"margin must be >= 0, got {margin!r}")
    frame = as_frame(data, purchases.requires, "lifetime value input")
    value = _spend(spend, frame)
    n = max(1, math.ceil(horizon / step - 1e-9))
    total = np.zeros(len(frame))
    before = np.zeros(len(frame))
    for k in range(1, n + 1):  # one model evaluation per step, vectorised over customers
        t_k = min(k * step, horizon)
        upto = purchases.predict_purchases(t_k, frame)
        total += (upto - before) / (1 + discount_rate) ** (t_k / step)
        before = upto
    return margin * value * total


def customer_value(
    purchases: PurchaseModel,
    spend: GammaGammaModel | Any,
    data: Any,
    *,
    horizon: float,
    step: float = 1.0,
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> pd.DataFrame:
    """Per customer: probability alive, expected purchases and spend, and CLV.

    Columns ``customer_id`` (when ``data`` has it), ``probability_alive``,
    ``expected_purchases`` (over ``horizon``), ``expected_spend`` (per
    purchase), ``clv``.  Arguments as in :func:`lifetime_value`.
    """
    frame = as_frame(data, purchases.requires, "customer value input")
    out = pd.DataFrame(index=frame.index)
    if "customer_id" in frame.columns:
        out["customer_id"] = frame["customer_id"]
    out["probability_alive"] = purchases.probability_alive(frame)
    out["expected_purchases"] = purchases.predict_purchases(horizon, frame)
    out["expected_spend"] = _spend(spend, frame)
    out["clv"] = lifetime_value(
        purchases,
        out["expected_spend"].to_numpy(),
        frame,
        horizon=horizon,
        step=step,
        discount_rate=discount_rate,
        margin=margin,
    )
    return out.reset_index(drop=True)
