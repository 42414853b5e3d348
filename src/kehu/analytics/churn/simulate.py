"""Simulated customers whose churn is known, and announced by their behaviour.

Each customer ``i`` (vectorised with numpy, no loop over customers):

* arrives at ``a_i``, uniform over the period (minus its last ``min_age_days``),
  and buys on arrival;
* buys at Poisson rate ``lambda_i ~ Gamma(rate_shape, rate_mean / rate_shape)``
  per day while engaged;
* starts to disengage at ``d_i = a_i + Exp(engaged_days)``: from then on they
  buy at ``decline_rate * lambda_i``, spend ``decline_spend`` times as much per
  order and choose among fewer products (a third of their usual range);
* churns (buys nothing ever again) at ``c_i = d_i + Exp(decline_days)``.

So churn is a hidden event with observable precursors (falling frequency,
spend and breadth), as it is for real customers who drift to a competitor,
and the truth (``decline_start``, ``churned_at``) is returned with the orders.
The BG/NBD model, which sees only the purchase counts and their timing, misses
the declining spend and breadth; a model given those features should not.

Two settings differ only in the mean engaged time (the hazard of starting to
disengage), never in the mechanism: ``churn="high"`` (700 days, the first
setting) and ``churn="low"`` (3,000 days).  With arrivals over 2022-2024, at
the cut-offs 2024-03-01 and 2024-06-01 about 43-48% (high) or 19-21% (low) of
the customers make no purchase in the next 90 days.  The share matters for
top-decile lift: it cannot exceed 1 / (churn rate), about 2.1-2.3 in the high
setting, where every score that puts the long-silent customers first reaches
it, and about 5 in the low one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from kehu.analytics.rfm import DateLike, as_date
from kehu.exceptions import SchemaError

#: mean engaged days of each setting of :func:`simulate_churn`
ENGAGED_DAYS = {"high": 700.0, "low": 3000.0}


def simulate_churn(
    n: int,
    *,
    start: DateLike = "2022-01-01",
    end: DateLike = "2024-12-31",
    rate_mean: float = 1 / 21,
    rate_shape: float = 2.0,
    churn: str = "high",
    engaged_days: float | None = None,
    decline_days: float = 60.0,
    decline_rate: float = 0.8,
    decline_spend: float = 0.35,
    min_age_days: int = 30,
    n_products: int = 300,
    seed: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order lines of ``n`` customers and the truth about their churn.

    Parameters
    ----------
    n
        Number of customers.
    start, end
        The observed period (both inclusive); nothing happens after ``end``.
    rate_mean, rate_shape
        Mean and Gamma shape of the engaged purchase rate (orders per day).
    churn
        ``"high"`` or ``"low"``: the setting of the mean engaged time,
        :data:`ENGAGED_DAYS` (see the module docstring).
    engaged_days
        Mean length (days) of the engaged phase; given, it overrides ``churn``.
    decline_days
        Mean length (days) of the declining phase.
    decline_rate, decline_spend
        Multipliers of the purchase rate and of the spend per order while declining.
    min_age_days
        Nobody arrives in the last ``min_age_days`` days of the period.
    n_products
        Size of the product catalogue.
    seed
        Seed of the numpy random generator.

    Returns
    -------
    ``(orders, truth)``: ``orders`` in the canonical schema (``customer_id,
    order_id, order_time, product_id, quantity, price, amount, is_return``),
    one line per order; ``truth`` one row per customer with ``customer_id,
    arrived, decline_start, churned_at`` (timestamps, possibly after ``end``).

    Examples
    --------
    >>> orders, truth = simulate_churn(100, seed=1)
    >>> sorted(truth.columns)
    ['arrived', 'churned_at', 'customer_id', 'decline_start']
    >>> orders, truth = simulate_churn(100, churn="low", seed=1)  # fewer churners
    """
    first, span, engaged_days = _checked_setting(
        n, churn, start, end, min_age_days, rate_mean, rate_shape, engaged_days, decline_days
    )
    rng = np.random.default_rng(seed)
    people = _draw_customers(
        rng,
        n,
        arrive_days=span - min_age_days,
        rate_mean=rate_mean,
        rate_shape=rate_shape,
        engaged_days=engaged_days,
        decline_days=decline_days,
        n_products=n_products,
    )
    owner, declining, t = _draw_purchase_times(rng, people, span, decline_rate)
    origin = pd.Timestamp(dt.datetime.combine(first, dt.time()))
    ids = np.char.add("c", np.arange(n).astype(str))
    orders = _order_lines(
        rng, people, owner, declining, t, decline_spend, n_products, origin=origin, ids=ids
    )
    return orders, _truth(people, ids, origin)


class _Customers(NamedTuple):
    """Each simulated customer's hidden traits; times in days since ``start``."""

    arrive: np.ndarray
    lam: np.ndarray
    decline: np.ndarray
    churn: np.ndarray
    spend: np.ndarray
    breadth: np.ndarray
    offset: np.ndarray


def _checked_setting(
    n: Any,
    churn: str,
    start: DateLike,
    end: DateLike,
    min_age_days: int,
    rate_mean: float,
    rate_shape: float,
    engaged_days: float | None,
    decline_days: float,
) -> tuple[dt.date, int, float]:
    """The first day, the days observed and the engaged days, once every setting can be drawn."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        raise SchemaError(f"the number of customers must be a positive whole number, got {n!r}")
    if churn not in ENGAGED_DAYS:
        raise SchemaError(f"churn must be one of {', '.join(ENGAGED_DAYS)}, got {churn!r}")
    if engaged_days is None:
        engaged_days = ENGAGED_DAYS[churn]
    first, last = as_date(start, "start"), as_date(end, "end")
    span = (last - first).days + 1  # days observed
    if span <= min_age_days:
        raise SchemaError(f"the period {first} to {last} is shorter than min_age_days")
    for name, value in (
        ("rate_mean", rate_mean),
        ("rate_shape", rate_shape),
        ("engaged_days", engaged_days),
        ("decline_days", decline_days),
    ):
        if not value > 0:
            raise SchemaError(f"{name} must be positive, got {value!r}")
    return first, span, engaged_days


def _draw_customers(
    rng: np.random.Generator,
    n: int,
    *,
    arrive_days: float,
    rate_mean: float,
    rate_shape: float,
    engaged_days: float,
    decline_days: float,
    n_products: int,
) -> _Customers:
    """Draw every customer's arrival, rate, decline, churn, spend and range (in this order)."""
    arrive = rng.uniform(0.0, arrive_days, n)
    lam = rng.gamma(rate_shape, rate_mean / rate_shape, n)
    decline = arrive + rng.exponential(engaged_days, n)
    churn = decline + rng.exponential(decline_days, n)
    spend = rng.gamma(2.0, 20.0, n)  # mean order value while engaged
    breadth = 1 + rng.poisson(8, n)  # products the customer chooses among
    offset = rng.integers(0, n_products, n)
    return _Customers(arrive, lam, decline, churn, spend, breadth, offset)


def _draw_purchase_times(
    rng: np.random.Generator, people: _Customers, span: int, decline_rate: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each purchase's customer, phase (declining or not) and time, those before ``end``."""
    n = len(people.arrive)
    # engaged phase [arrive, decline) and declining phase [decline, churn), cut at `end`
    e_end = np.minimum(people.decline, span)
    d_end = np.minimum(people.churn, span)
    e_len = np.maximum(e_end - people.arrive, 0.0)
    d_len = np.maximum(d_end - np.minimum(people.decline, span), 0.0)
    n_e = rng.poisson(people.lam * e_len)
    n_d = rng.poisson(decline_rate * people.lam * d_len)

    owner = np.concatenate(
        [np.arange(n), np.repeat(np.arange(n), n_e), np.repeat(np.arange(n), n_d)]
    )
    declining = np.concatenate([np.zeros(n + n_e.sum(), bool), np.ones(n_d.sum(), bool)])
    u = rng.uniform(0.0, 1.0, len(owner))
    t = np.where(
        declining,
        people.decline[owner] + u * d_len[owner],
        people.arrive[owner] + u * e_len[owner],
    )
    t[:n] = people.arrive  # the first purchase, on arrival
    keep = t < span
    return owner[keep], declining[keep], t[keep]


def _order_lines(
    rng: np.random.Generator,
    people: _Customers,
    owner: np.ndarray,
    declining: np.ndarray,
    t: np.ndarray,
    decline_spend: float,
    n_products: int,
    *,
    origin: pd.Timestamp,
    ids: np.ndarray,
) -> pd.DataFrame:
    """One canonical order line per purchase: its amount, product and quantity, by time."""
    value = people.spend[owner] * np.where(declining, decline_spend, 1.0)
    amount = np.round(rng.gamma(4.0, value / 4.0), 2)
    choices = np.where(declining, np.maximum(people.breadth[owner] // 3, 1), people.breadth[owner])
    product = (people.offset[owner] + rng.integers(0, 1 << 30, len(owner)) % choices) % n_products
    quantity = 1 + rng.poisson(2.0, len(owner))

    order_time = origin + pd.to_timedelta(np.round(t * 86400.0).astype("int64"), unit="s")
    orders = pd.DataFrame(
        {
            "customer_id": ids[owner],
            "order_id": np.char.add("o", np.arange(len(owner)).astype(str)),
            "order_time": order_time,
            "product_id": np.char.add("p", product.astype(str)),
            "quantity": quantity.astype(float),
            "price": np.round(amount / quantity, 4),
            "amount": amount,
            "is_return": np.zeros(len(owner), bool),
        }
    )
    return orders.sort_values("order_time", kind="stable").reset_index(drop=True)


def _truth(people: _Customers, ids: np.ndarray, origin: pd.Timestamp) -> pd.DataFrame:
    """Per customer the hidden times, as timestamps (possibly after ``end``)."""

    def stamp(days: np.ndarray) -> pd.Series:
        return origin + pd.to_timedelta(np.round(days * 86400.0).astype("int64"), unit="s")

    return pd.DataFrame(
        {
            "customer_id": ids,
            "arrived": stamp(people.arrive),
            "decline_start": stamp(people.decline),
            "churned_at": stamp(people.churn),
        }
    )
