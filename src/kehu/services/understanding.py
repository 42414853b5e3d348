"""Understanding the classes, and writing what the analyst takes away.

Runs the descriptive analytics (profiles, behaviour, cohorts, KPIs, migration)
over the imported orders up to the as-of date, gathers them into a
:class:`~kehu.report.data.ReportData`, and writes the tables and the report.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import pandas as pd

from kehu.analytics.behaviour import category_preference, product_movement, purchase_timing
from kehu.analytics.cohorts import cohort_retention, repeat_purchase_rate
from kehu.analytics.kpis import monthly_kpis
from kehu.analytics.migration import migration_matrix
from kehu.analytics.playbook import Playbook
from kehu.analytics.profile import class_profile
from kehu.analytics.schema import to_table
from kehu.atomic import atomic_path
from kehu.config import Settings
from kehu.names import CLASS_COLUMNS
from kehu.report.data import ReportData
from kehu.report.excel import write_customers_xlsx
from kehu.report.html import write_report
from kehu.report.store import save_report_data

if TYPE_CHECKING:
    from kehu.services.analysis import Classified
    from kehu.warehouse import ImportResult

#: class columns that get a profile, in report order
PROFILED = (*CLASS_COLUMNS, "cluster_label", "custom_segment")


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


def write_import_files(imported: ImportResult, out_dir: str | Path) -> dict[str, Path]:
    """``import_summary.json`` and ``rejects.csv`` of an import."""
    out_dir = Path(out_dir)
    summary_path = out_dir / "import_summary.json"
    with atomic_path(summary_path) as tmp:
        tmp.write_text(
            json.dumps(imported.summary.to_dict(), ensure_ascii=False, indent=2, default=str),
            encoding="utf-8",
        )
    rejects_path = out_dir / "rejects.csv"
    imported.write_rejects(rejects_path)
    return {"import_summary": summary_path, "rejects": rejects_path}


def write_outputs(
    data: ReportData,
    table: pd.DataFrame,
    current: Classified,
    *,
    out_dir: str | Path,
    settings: Settings,
) -> dict[str, Path]:
    """Write every output of ``analyze``; each file appears whole or not at all."""
    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    customers_path = out_dir / "customers.parquet"
    with atomic_path(customers_path) as tmp:
        table.to_parquet(tmp, index=False)
    files["customers"] = customers_path
    files["customers_xlsx"] = write_customers_xlsx(
        table,
        out_dir / "customers.xlsx",
        settings.lang,
        profiles=data.profiles,
        playbook=data.playbook,
    )
    classes_path = out_dir / "classes.parquet"
    with atomic_path(classes_path) as tmp:
        classes_table(data.profiles).to_parquet(tmp, index=False)
    files["classes"] = classes_path
    files["report"] = write_report(data, out_dir / "report.html", settings.lang)
    files["report_data"] = save_report_data(data, out_dir / "report_data")
    files.update(write_import_files(current.imported, out_dir))
    return files
