"""Time-split evaluation of the recommender against popularity baselines.

Protocol (:func:`evaluate_split`):

- **train** = order lines before ``split_date``; the recommender (and both
  baselines) are fit on it only;
- **test** = for each customer with purchase history in train, the products
  they bought (net of returns) on or after ``split_date`` (up to
  ``test_days`` later when given) that they had not bought before it: the
  "new to them" task;
- **evaluated customers** = those with at least one test product (a
  deterministic sample of ``max_customers`` of them when given);
- every method recommends ``k`` products the customer has not bought in train;
- ``precision@k`` = hits / k, ``recall@k`` = hits / number of test products,
  ``NDCG@k`` = DCG / ideal DCG with binary relevance and ``1 / log2(rank + 1)``
  discounts (ideal over ``min(k, test products)``), averaged over customers;
  ``coverage`` = distinct products recommended / distinct products bought in
  train.

Baselines: **global popularity** (most distinct buyers in train) and
**segment popularity** (most distinct buyers within the customer's segment,
global popularity when the segment is smaller than ``min_segment_customers``).
Without a segments table the segment is the RFM 8-class (rfm8) computed on
the training period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from kehu.analytics.recommend.interactions import interactions
from kehu.analytics.recommend.lists import _concat, _top_k
from kehu.analytics.recommend.recommender import Recommender
from kehu.analytics.rfm import DateLike, as_date, rfm_summary
from kehu.exceptions import ConfigError, SchemaError

METHODS = ("model", "global_popularity", "segment_popularity")


def evaluate_split(
    orders: Any,
    split_date: DateLike,
    k: int = 10,
    segments: Any = None,
    *,
    recommender: Recommender | None = None,
    test_days: int | None = None,
    max_customers: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Evaluate a recommender and two popularity baselines on a time split.

    Parameters
    ----------
    orders
        Canonical order lines (Ibis table or pandas/polars/Arrow frame).
    split_date
        First day of the test period.
    k
        List length; the metrics are ``precision@k``, ``recall@k``,
        ``ndcg@k`` and ``coverage``.
    segments
        Customers table with ``customer_id`` and ``segment`` for the segment
        baseline and the recommender's fallback; default rfm8 on train.
    recommender
        An unfitted :class:`Recommender` (its parameters are used); default
        ``Recommender(k=k)``.
    test_days
        Length of the test period in days; default everything after the split.
    max_customers, seed
        Evaluate a deterministic random sample of at most ``max_customers``.

    Returns
    -------
    dict with ``customers`` (evaluated), ``test_products`` (total test pairs),
    ``protocol`` (the settings) and one dict of metrics per method in
    :data:`METHODS`.
    """
    _check_args(k, max_customers)
    split = as_date(split_date, "split_date")
    end = None if test_days is None else split + pd.Timedelta(days=test_days).to_pytimedelta()
    if segments is None:
        segments = rfm8_segments(orders, split)

    rec = Recommender(k=k) if recommender is None else recommender
    rec.fit(orders, segments, as_of=split)

    train, truth = _new_purchases(orders, split, end)
    users, truth = _evaluated_customers(truth, max_customers, seed)
    catalogue = train.select("product_id").distinct().count().execute()

    lists = {
        "model": rec.recommend(users, k=k, exclude_seen=True),
        "global_popularity": popularity_lists(rec, users, k, by_segment=False),
        "segment_popularity": popularity_lists(rec, users, k, by_segment=True),
    }
    result: dict[str, Any] = {
        "customers": len(users),
        "test_products": len(truth),
        "protocol": {
            "split_date": split.isoformat(),
            "test_days": test_days,
            "k": k,
            "train_products": int(catalogue),
            "model": rec.model,
            "max_customers": max_customers,
            "seed": seed,
        },
    }
    for name, recs in lists.items():
        result[name] = ranking_metrics(recs, truth, users, k, catalogue)
    return result


def _check_args(k: Any, max_customers: int | None) -> None:
    """Refuse a list length or sample size that no evaluation can use."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"evaluate_split: k must be a positive integer, got {k!r}")
    if max_customers is not None and max_customers < 1:
        raise ConfigError(f"evaluate_split: max_customers must be positive, got {max_customers!r}")


def _new_purchases(
    orders: Any, split: dt.date, end: dt.date | None
) -> tuple[ir.Table, pd.DataFrame]:
    """The train pairs, and as test the products known customers first bought after ``split``."""
    train = interactions(orders, before=split).select("customer_id", "product_id")
    test = interactions(orders, since=split, before=end).select("customer_id", "product_id")
    known = train.select("customer_id").distinct()
    test = test.semi_join(known, "customer_id").anti_join(train, ["customer_id", "product_id"])
    truth = test.to_pandas()
    if truth.empty:
        raise SchemaError(
            f"evaluate_split: no customer with history before {split} bought a new product after it"
        )
    return train, truth


def _evaluated_customers(
    truth: pd.DataFrame, max_customers: int | None, seed: int
) -> tuple[np.ndarray, pd.DataFrame]:
    """The customers with a test product, a seeded sample of them when there are too many."""
    users = np.sort(truth["customer_id"].unique().astype(str)).astype(object)
    if max_customers is not None and len(users) > max_customers:
        rng = np.random.default_rng(seed)
        users = np.sort(rng.choice(users, size=max_customers, replace=False))
        truth = truth[truth["customer_id"].isin(users)]
    return users, truth


def rfm8_segments(orders: Any, split: DateLike) -> pd.DataFrame:
    """``customer_id, segment``: the rfm8 class of each customer on the orders before ``split``."""
    from kehu.analytics.classify.rfm8 import RFM8

    summary = rfm_summary(orders, as_of=split)
    classes = RFM8().fit_transform(summary)
    return classes.select("customer_id", segment=classes.rfm8).to_pandas()


def popularity_lists(
    rec: Recommender, users: np.ndarray, k: int, *, by_segment: bool
) -> pd.DataFrame:
    """Popularity baselines with the customer's seen products left out."""
    rows = pd.Index(rec.customers_).get_indexer(users)
    seg = rec._segment_rows(users) if by_segment else np.full(len(users), -1)
    # a customer absent from train has no seen products: an all-zero history row
    glob = rec._global_scores()
    parts = []
    for start in range(0, len(users), rec.batch_size):
        sl = slice(start, start + rec.batch_size)
        s = seg[sl]
        scores = np.tile(glob, (len(s), 1))
        scores[s >= 0] = rec.segment_popularity_[s[s >= 0]]
        scores[scores <= 0] = -np.inf  # never "recommend" an unbought product
        r = rows[sl]
        hist = rec.history_[np.maximum(r, 0)]
        hist = hist.multiply((r >= 0)[:, None]).tocsr()
        scores[hist.nonzero()] = -np.inf
        top = _top_k(scores, k)
        best = np.take_along_axis(scores, top, axis=1)
        ok = np.isfinite(best).ravel()
        kk = top.shape[1]
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": np.repeat(users[sl], kk)[ok],
                    "rank": np.tile(np.arange(1, kk + 1), len(r))[ok],
                    "product_id": rec.items_[top.ravel()[ok]].astype(object),
                    "score": best.ravel()[ok],
                }
            )
        )
    return _concat(parts)


def ranking_metrics(
    recs: pd.DataFrame, truth: pd.DataFrame, users: np.ndarray, k: int, catalogue: int
) -> dict[str, float]:
    """Mean precision@k, recall@k, NDCG@k over ``users`` and catalogue coverage."""
    n_true = truth.groupby("customer_id").size().reindex(users, fill_value=0).to_numpy()
    recs = recs[recs["rank"] <= k]
    hit = recs.merge(truth.assign(_hit=1), on=["customer_id", "product_id"], how="left")
    hit["_hit"] = hit["_hit"].fillna(0)
    hit["_gain"] = hit["_hit"] / np.log2(hit["rank"] + 1)
    per = hit.groupby("customer_id")[["_hit", "_gain"]].sum().reindex(users, fill_value=0)
    hits = per["_hit"].to_numpy()
    discounts = np.cumsum(1 / np.log2(np.arange(2, k + 2)))
    ideal = discounts[np.minimum(n_true, k) - 1]
    covered = recs["product_id"].nunique()
    return {
        f"precision@{k}": float(np.mean(hits / k)),
        f"recall@{k}": float(np.mean(hits / n_true)),
        f"ndcg@{k}": float(np.mean(per["_gain"].to_numpy() / ideal)),
        "coverage": float(covered / catalogue) if catalogue else 0.0,
    }
