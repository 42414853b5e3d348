"""Churn risk: features at a cut-off, a calibrated model, reasons in words, evaluation.

>>> model = ChurnModel(horizon_days=90).fit(orders, cutoff="2011-06-01")  # doctest: +SKIP
>>> model.predict(orders, as_of="2011-09-01")  # doctest: +SKIP
>>> evaluate_churn(orders, train_cutoff="2011-06-01", test_cutoff="2011-09-01")  # doctest: +SKIP
"""

from kehu.analytics.churn.evaluate import (
    SCORES,
    calibration_bins,
    evaluate_churn,
    score_metrics,
    top_decile_lift,
)
from kehu.analytics.churn.features import (
    CHURN_FEATURES,
    churn_dataset,
    churn_features,
    churn_labels,
    engine_features,
)
from kehu.analytics.churn.model import ChurnModel
from kehu.analytics.churn.reasons import REASON_GROUPS
from kehu.analytics.churn.simulate import simulate_churn

__all__ = [
    "CHURN_FEATURES",
    "REASON_GROUPS",
    "SCORES",
    "ChurnModel",
    "calibration_bins",
    "churn_dataset",
    "churn_features",
    "churn_labels",
    "engine_features",
    "evaluate_churn",
    "score_metrics",
    "simulate_churn",
    "top_decile_lift",
]
