"""Understanding the classes: what the report shows, as data.

Runs the descriptive analytics (profiles, behaviour, cohorts, KPIs, migration)
over the imported orders up to the as-of date and gathers them into a
:class:`ReportData` of small pandas frames.  The report (:mod:`kehu.report`)
only formats it, and :mod:`kehu.report.outputs` writes the files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd

from kehu.analytics.behaviour import category_preference, product_movement, purchase_timing
from kehu.analytics.cohorts import cohort_retention, repeat_purchase_rate
from kehu.analytics.kpis import monthly_kpis
from kehu.analytics.migration import migration_matrix
from kehu.analytics.playbook import Playbook
from kehu.analytics.profile import class_profile
from kehu.analytics.schema import to_table
from kehu.config import Settings
from kehu.exceptions import SchemaError
from kehu.names import CLASS_COLUMNS

if TYPE_CHECKING:
    from kehu.services.analysis import Classified

#: class columns that get a profile, in report order
PROFILED = (*CLASS_COLUMNS, "cluster_label", "custom_segment")


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


def _before(orders, as_of: dt.date, window_days: int | None):
    """All order lines (anonymous ones too) in the analysis window."""
    end = ibis.timestamp(dt.datetime.combine(as_of, dt.time()))
    cond = [orders.order_time < end]
    if window_days:
        start = dt.datetime.combine(as_of - dt.timedelta(days=window_days), dt.time())
        cond.append(orders.order_time >= ibis.timestamp(start))
    return orders.filter(*cond)


def understand(
    current: Classified,
    table: pd.DataFrame,
    previous: Classified | None,
    *,
    settings: Settings,
    notes: list[str] | None = None,
) -> ReportData:
    """Compute everything the report shows."""
    imported = current.imported
    orders = _before(imported.orders, current.as_of, settings.window_days)
    products = imported.products
    has_categories = products is not None and "category" in products.columns
    customers = to_table(table)
    profiles = {
        col: class_profile(customers, col, orders=orders, products=products).to_pandas()
        for col in PROFILED
        if col in table.columns and table[col].notna().any()
    }
    migration = None
    if previous is not None:
        before = previous.table.select("customer_id", "rfm8").to_pandas()
        migration = migration_matrix(
            to_table(before), customers.select("customer_id", "rfm8"), column="rfm8"
        ).to_pandas()
    summary = imported.summary
    return ReportData(
        customers=table,
        profiles=profiles,
        migration=migration,
        migration_column="rfm8",
        migration_dates=(previous.as_of, current.as_of) if previous else None,
        cohorts=cohort_retention(orders).to_pandas(),
        repeat_rate=repeat_purchase_rate(orders).to_pandas(),
        kpis=monthly_kpis(orders).to_pandas(),
        timing={k: v.to_pandas() for k, v in purchase_timing(orders).items()},
        products={
            k: v.to_pandas()
            for k, v in product_movement(orders, products, as_of=current.as_of).items()
        },
        category_preference=(
            category_preference(orders, products).to_pandas() if has_categories else None
        ),
        import_summary={
            **summary.to_dict(),
            "describe": summary.describe(lang=settings.lang),
            "notes": list(notes or []),
        },
        run_info=current.info,
        playbook=Playbook.from_config(settings.playbook or None),
    )


def classes_table(profiles: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """All class profiles in one long table, with the classifier column first."""
    frames = [df.assign(classifier=col) for col, df in profiles.items()]
    if not frames:
        return pd.DataFrame({"classifier": [], "class": []})
    out = pd.concat(frames, ignore_index=True)
    out["class"] = out["class"].astype(str)
    return out[["classifier", *[c for c in out.columns if c != "classifier"]]]
