"""kehu: customer classification and management (客户分类管理).

The public names are listed in ``__all__``; they are imported on first use so
that ``import kehu`` stays cheap (Ibis, scikit-learn and friends load lazily).

>>> import kehu
>>> kehu.RFM8().get_params()["threshold"]
'mean'
"""

from __future__ import annotations

import importlib
from typing import Any

from kehu.exceptions import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    DataImportError,
    FilterSyntaxError,
    ForbiddenError,
    KehuError,
    ModelFileError,
    ModelFileNotFoundError,
    NotFittedError,
    NotFoundError,
    RateLimitError,
    SchemaError,
)

__version__ = "0.1.0"

#: public name -> module that defines it
_LAZY = {
    # per-customer tables
    "rfm_summary": "kehu.analytics.rfm",
    "customer_features": "kehu.analytics.features",
    "category_mix": "kehu.analytics.mix",
    # classifiers
    "classify": "kehu.analytics.classify",
    "CLASSIFIERS": "kehu.analytics.classify",
    "RULE_CLASSIFIERS": "kehu.analytics.classify",
    "Classifier": "kehu.analytics.classify.base",
    "Explanation": "kehu.analytics.classify.base",
    "RFM8": "kehu.analytics.classify.rfm8",
    "NamedSegments": "kehu.analytics.classify.segments",
    "FrequencyTier": "kehu.analytics.classify.tiers",
    "SpendTier": "kehu.analytics.classify.tiers",
    "ABC": "kehu.analytics.classify.value",
    "Lifecycle": "kehu.analytics.classify.lifecycle",
    "Grade": "kehu.analytics.classify.grades",
    "Clusters": "kehu.analytics.classify.clusters",
    "CustomSegments": "kehu.analytics.classify.rules",
    "apply_filter": "kehu.analytics.filters",
    "compile_filter": "kehu.analytics.filters",
    # predictions
    "clv_summary": "kehu.analytics.clv",
    "BetaGeoModel": "kehu.analytics.clv",
    "ParetoNBDModel": "kehu.analytics.clv",
    "GammaGammaModel": "kehu.analytics.clv",
    "customer_value": "kehu.analytics.clv",
    "ChurnModel": "kehu.analytics.churn",
    "Recommender": "kehu.analytics.recommend",
    "association_rules": "kehu.analytics.recommend",
    "Forecaster": "kehu.analytics.forecast",
    "sales_series": "kehu.analytics.forecast",
    "classify_feedback": "kehu.analytics.feedback",
    # understanding
    "class_profile": "kehu.analytics.profile",
    "migration_matrix": "kehu.analytics.migration",
    "cohort_retention": "kehu.analytics.cohorts",
    "repeat_purchase_rate": "kehu.analytics.cohorts",
    "monthly_kpis": "kehu.analytics.kpis",
    "purchase_timing": "kehu.analytics.behaviour",
    "product_movement": "kehu.analytics.behaviour",
    "Playbook": "kehu.analytics.playbook",
    # data in, settings, use cases
    "connect": "kehu.warehouse",
    "import_orders": "kehu.warehouse",
    "ImportOptions": "kehu.warehouse",
    "Settings": "kehu.config",
    "load_config": "kehu.config",
    "analyze": "kehu.services.analysis",
}

__all__ = [
    "ABC",
    "CLASSIFIERS",
    "RFM8",
    "RULE_CLASSIFIERS",
    "AuthenticationError",
    "BetaGeoModel",
    "ChurnModel",
    "Classifier",
    "Clusters",
    "ConfigError",
    "ConflictError",
    "CustomSegments",
    "DataImportError",
    "Explanation",
    "FilterSyntaxError",
    "ForbiddenError",
    "Forecaster",
    "FrequencyTier",
    "GammaGammaModel",
    "Grade",
    "ImportOptions",
    "KehuError",
    "Lifecycle",
    "ModelFileError",
    "ModelFileNotFoundError",
    "NamedSegments",
    "NotFittedError",
    "NotFoundError",
    "ParetoNBDModel",
    "Playbook",
    "RateLimitError",
    "Recommender",
    "SchemaError",
    "Settings",
    "SpendTier",
    "__version__",
    "analyze",
    "apply_filter",
    "association_rules",
    "category_mix",
    "class_profile",
    "classify",
    "classify_feedback",
    "clv_summary",
    "cohort_retention",
    "compile_filter",
    "connect",
    "customer_features",
    "customer_value",
    "import_orders",
    "load_config",
    "migration_matrix",
    "monthly_kpis",
    "product_movement",
    "purchase_timing",
    "repeat_purchase_rate",
    "rfm_summary",
    "sales_series",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kehu' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # next time, no lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
