"""Out-of-time evaluation of the churn model against two baselines.

:func:`evaluate_churn` fits :class:`~kehu.analytics.churn.ChurnModel` at
``train_cutoff`` (labels in ``[train_cutoff, train_cutoff + h)``) and scores
every customer at the later ``test_cutoff``, whose own horizon must be
observed.  ``test_cutoff >= train_cutoff + h`` is required so that no training
label overlaps the test period.  Three scores are compared on the test
customers:

* ``model``: the calibrated churn probability (:class:`ChurnModel` with its
  defaults: three monthly training snapshots, sigmoid calibration);
* ``recency``: the percentile rank of ``recency_days`` (a ranking, not a
  probability, so it has no Brier score or calibration curve);
* ``bgnbd``: ``1 - P(alive)`` from a BG/NBD model fitted at ``test_cutoff``.

Measures (for each score): ROC AUC, PR AUC (average precision), the churn
rate in the top 10% of scores divided by the overall churn rate (top-decile
lift; ties at the boundary count pro rata, so the order of tied customers
does not matter), and for probabilities the Brier score and a 10-bin
calibration curve (equal-width bins of the predicted probability; empty bins
are left out).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from kehu.analytics.churn.features import _check_days, churn_dataset, data_end
from kehu.analytics.churn.model import ChurnModel
from kehu.analytics.rfm import DateLike, as_date
from kehu.exceptions import SchemaError

SCORES = ("model", "recency", "bgnbd")


def top_decile_lift(y: np.ndarray, score: np.ndarray, share: float = 0.1) -> float:
    """Churn rate among the top ``share`` of scores over the overall churn rate.

    The top ``k = ceil(share * n)`` customers are taken; customers tied at the
    boundary score each count for the fraction of them that fits, which is the
    expected rate when ties are broken at random.

    Examples
    --------
    >>> top_decile_lift(np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), np.arange(10.0)[::-1])
    10.0
    """
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    n = len(y)
    if n == 0 or y.sum() == 0:
        return float("nan")
    k = int(np.ceil(share * n))
    threshold = np.sort(score)[::-1][k - 1]
    above = score > threshold
    tied = score == threshold
    churned = y[above].sum() + (k - above.sum()) * y[tied].mean()
    return float(churned / k / y.mean())


def calibration_bins(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Predicted vs observed churn in equal-width probability bins (empty bins left out)."""
    y = np.asarray(y, dtype=float)
    prob = np.clip(np.asarray(prob, dtype=float), 0.0, 1.0)
    which = np.minimum((prob * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):  # ten bins, not rows
        mask = which == b
        if mask.any():
            out.append(
                {
                    "bin_low": b / bins,
                    "bin_high": (b + 1) / bins,
                    "customers": int(mask.sum()),
                    "predicted": float(prob[mask].mean()),
                    "observed": float(y[mask].mean()),
                }
            )
    return out


def score_metrics(y: np.ndarray, score: np.ndarray, *, probability: bool) -> dict[str, Any]:
    """ROC AUC, PR AUC, top-decile lift and (for probabilities) Brier and calibration."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype="int64")
    score = np.asarray(score, dtype=float)
    if np.isnan(score).any():
        # e.g. a BG/NBD that could not be fitted: rank the unknown as the least at risk
        score = np.nan_to_num(score, nan=np.nanmin(score) if np.isfinite(score).any() else 0.0)
    both = len(np.unique(y)) == 2
    out: dict[str, Any] = {
        "roc_auc": float(roc_auc_score(y, score)) if both else None,
        "pr_auc": float(average_precision_score(y, score)) if both else None,
        "top_decile_lift": top_decile_lift(y, score),
        "brier": None,
        "calibration": None,
    }
    if probability:
        out["brier"] = float(brier_score_loss(y, score))
        out["calibration"] = calibration_bins(y, score)
    return out


def evaluate_churn(
    orders: Any,
    *,
    train_cutoff: DateLike,
    test_cutoff: DateLike,
    horizon_days: int = 90,
    products: Any = None,
    calibration: str = "sigmoid",
    snapshots: int = 3,
    random_state: int | None = 0,
    return_scores: bool = False,
) -> dict[str, Any]:
    """Fit at ``train_cutoff``, score at ``test_cutoff``, compare with the baselines.

    Parameters
    ----------
    orders
        Order lines in the canonical schema; they must reach
        ``test_cutoff + horizon_days - 1``.
    train_cutoff, test_cutoff
        The cut-offs; ``test_cutoff`` must be at least ``horizon_days`` after
        ``train_cutoff``.
    horizon_days
        The churn window.
    products
        Optional product master.
    calibration, snapshots, random_state
        Passed to :class:`ChurnModel`.
    return_scores
        Add ``"scores"``: the test customers with their label and the three scores.

    Returns
    -------
    A dict: ``train_cutoff``, ``test_cutoff``, ``horizon_days`` (ISO dates and
    days), ``train_customers`` (at the training cut-off), ``train_rows``
    (over the training snapshots), ``test_customers``, ``train_churn_rate``,
    ``test_churn_rate``, and ``metrics``: score name (:data:`SCORES`) -> the
    dict of :func:`score_metrics`.

    Raises
    ------
    SchemaError
        The cut-offs overlap, a horizon is not observed, or a cut-off has no
        customers.
    """
    horizon_days = _check_days(horizon_days, "horizon_days")
    c1 = as_date(train_cutoff, "train_cutoff")
    c2 = as_date(test_cutoff, "test_cutoff")
    _check_cutoffs(orders, c1, c2, horizon_days)
    model = ChurnModel(
        horizon_days, calibration=calibration, snapshots=snapshots, random_state=random_state
    )
    model.fit(orders, cutoff=c1, products=products)
    test = churn_dataset(orders, cutoff=c2, horizon_days=horizon_days, products=products)
    y = test["churned"].to_numpy()
    scores = _scores(model, test)
    result: dict[str, Any] = {
        "train_cutoff": c1.isoformat(),
        "test_cutoff": c2.isoformat(),
        "horizon_days": horizon_days,
        "train_customers": model.n_customers_,
        "train_rows": model.n_rows_,
        "test_customers": len(test),
        "train_churn_rate": model.churn_rate_,
        "test_churn_rate": float(y.mean()),
        "features": list(model.features_),
        "metrics": {
            name: score_metrics(y, s, probability=name != "recency") for name, s in scores.items()
        },
    }
    if return_scores:
        frame = pd.DataFrame({"customer_id": test["customer_id"], "churned": y})
        for name, s in scores.items():
            frame[name] = s
        result["scores"] = frame
    return result


def _check_cutoffs(orders: Any, c1: dt.date, c2: dt.date, horizon_days: int) -> None:
    """Refuse overlapping cut-offs or an unobserved test horizon, before the (slower) fit."""
    if c2 < c1 + dt.timedelta(days=horizon_days):
        raise SchemaError(
            f"test_cutoff {c2} must be at least {horizon_days} days after train_cutoff {c1} "
            f"(on or after {c1 + dt.timedelta(days=horizon_days)}), otherwise the training "
            "labels overlap the test period"
        )
    end = data_end(orders)
    if c2 + dt.timedelta(days=horizon_days) > end:
        raise SchemaError(
            f"the test horizon runs to {c2 + dt.timedelta(days=horizon_days - 1)}, but the orders "
            f"end on {end - dt.timedelta(days=1)}: labels would be incomplete; choose a test "
            f"cut-off on or before {end - dt.timedelta(days=horizon_days)}"
        )


def _scores(model: ChurnModel, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """The three scores of :data:`SCORES` for the test customers, higher meaning riskier."""
    return {
        "model": model.risk(test),
        "recency": test["recency_days"].rank(pct=True).to_numpy(),
        "bgnbd": 1.0 - test["p_alive"].to_numpy(dtype=float),
    }
