"""Customer lifetime value: the per-customer summary, purchase and spend models, CLV.

>>> summary = clv_summary(orders, calibration_end="1997-09-30")  # doctest: +SKIP
>>> purchases = BetaGeoModel().fit(summary)  # doctest: +SKIP
>>> spend = GammaGammaModel().fit(summary)  # doctest: +SKIP
>>> customer_value(purchases, spend, summary, horizon=52)  # doctest: +SKIP
"""

from kehu.analytics.clv.base import CLVModel, ConvergenceWarning, PurchaseModel
from kehu.analytics.clv.bgnbd import BetaGeoModel
from kehu.analytics.clv.gamma_gamma import GammaGammaModel
from kehu.analytics.clv.holdout import holdout_comparison
from kehu.analytics.clv.pareto_nbd import ParetoNBDModel
from kehu.analytics.clv.simulate import (
    simulate_bgnbd,
    simulate_pareto_nbd,
    simulate_spend,
    simulate_transactions,
)
from kehu.analytics.clv.summary import HOLDOUT_COLUMNS, SUMMARY_COLUMNS, clv_summary
from kehu.analytics.clv.value import customer_value, lifetime_value

__all__ = [
    "HOLDOUT_COLUMNS",
    "SUMMARY_COLUMNS",
    "BetaGeoModel",
    "CLVModel",
    "ConvergenceWarning",
    "GammaGammaModel",
    "ParetoNBDModel",
    "PurchaseModel",
    "clv_summary",
    "customer_value",
    "holdout_comparison",
    "lifetime_value",
    "simulate_bgnbd",
    "simulate_pareto_nbd",
    "simulate_spend",
    "simulate_transactions",
]
