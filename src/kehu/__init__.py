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
    ConfigError,
    ConflictError,
    DataImportError,
    FilterSyntaxError,
    KehuError,
    NotFittedError,
    NotFoundError,
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
    "Classifier",
    "Clusters",
    "ConfigError",
    "ConflictError",
    "CustomSegments",
    "DataImportError",
    "Explanation",
    "FilterSyntaxError",
    "FrequencyTier",
    "Grade",
    "ImportOptions",
    "KehuError",
    "Lifecycle",
    "NamedSegments",
    "NotFittedError",
    "NotFoundError",
    "Playbook",
    "SchemaError",
    "Settings",
    "SpendTier",
    "__version__",
    "analyze",
    "apply_filter",
    "category_mix",
    "class_profile",
    "classify",
    "cohort_retention",
    "compile_filter",
    "connect",
    "customer_features",
    "import_orders",
    "load_config",
    "migration_matrix",
    "monthly_kpis",
    "product_movement",
    "purchase_timing",
    "repeat_purchase_rate",
    "rfm_summary",
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
