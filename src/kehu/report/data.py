"""What a report shows: already-computed, small pandas frames.

The services layer runs the analytics and fills a :class:`ReportData`; the
builders in :mod:`kehu.report.html` and :mod:`kehu.report.excel` only format it.
Every part except ``customers`` is optional so that a partial report renders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kehu.exceptions import SchemaError


@dataclass
class ReportData:
    """Inputs of a report.

    Attributes
    ----------
    customers
        The per-customer table (RFM contract plus class columns).
    profiles
        Classifier column -> :func:`kehu.analytics.profile.class_profile` result.
    migration, migration_column, migration_dates
        Long :func:`kehu.analytics.migration.migration_matrix` result, the class
        column it compares and the as-of dates of the two runs.
    cohorts, repeat_rate
        :func:`~kehu.analytics.cohorts.cohort_retention` and the one-row
        :func:`~kehu.analytics.cohorts.repeat_purchase_rate` results.
    kpis
        :func:`kehu.analytics.kpis.monthly_kpis` result.
    timing
        :func:`kehu.analytics.behaviour.purchase_timing` results ("weekday",
        "hour", "month").
    products
        :func:`kehu.analytics.behaviour.product_movement` results ("hot", "slow").
    category_preference
        :func:`kehu.analytics.behaviour.category_preference` result (no class).
    import_summary
        What the import did: ``{"describe": [line, ...], ...}``.
    run_info
        ``{"as_of": date, "window_days": int | None, "classifiers": [record, ...]}``
        with each record as :meth:`kehu.analytics.classify.base.Classifier.record`.
    playbook
        A :class:`kehu.analytics.playbook.Playbook`.
    predictions
        What :mod:`kehu.services.predictions` reports about its models:
        ``{"clv": {"values", "params", "holdout"}, "churn": {"metrics", "gains",
        "test_cutoff"}, "forecast": {...}}``; every part optional.
    title
        Overrides the report title.
    """

    customers: pd.DataFrame
    profiles: dict[str, pd.DataFrame] = field(default_factory=dict)
    migration: pd.DataFrame | None = None
    migration_column: str = "rfm8"
    migration_dates: tuple[dt.date, dt.date] | None = None
    cohorts: pd.DataFrame | None = None
    repeat_rate: pd.DataFrame | None = None
    kpis: pd.DataFrame | None = None
    timing: dict[str, pd.DataFrame] | None = None
    products: dict[str, pd.DataFrame] | None = None
    category_preference: pd.DataFrame | None = None
    import_summary: dict[str, Any] | None = None
    run_info: dict[str, Any] | None = None
    playbook: Any = None
    predictions: dict[str, Any] | None = None
    title: str | None = None
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))

    def __post_init__(self) -> None:
        if not isinstance(self.customers, pd.DataFrame):
            raise SchemaError(
                "ReportData.customers must be a pandas DataFrame, "
                f"got {type(self.customers).__name__}"
            )
        if "customer_id" not in self.customers.columns:
            found = ", ".join(map(str, self.customers.columns)) or "(none)"
            raise SchemaError(
                f"ReportData.customers has no customer_id column; columns found: {found}"
            )
