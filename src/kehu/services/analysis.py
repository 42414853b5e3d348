"""The analyst's job as use cases: import, classify, understand, report.

``classify_files`` is what ``kehu classify`` (and the benchmarks) run: import,
per-customer features and the rule classifiers, one table out.  ``analyze``
does the whole job: it also clusters, predicts, keeps the run, compares it with
the run ``compare_days`` earlier and profiles every class.  Both take typed
:class:`~kehu.config.Settings` and return data; neither prints nor writes an
output file (the faces do, through :mod:`kehu.report.outputs`); progress goes
to the optional ``on_step`` callback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from kehu.analytics import classify as clf
from kehu.analytics.classify.grades import apply_published
from kehu.analytics.features import customer_features
from kehu.analytics.rfm import default_as_of
from kehu.analytics.schema import to_table
from kehu.config import Settings
from kehu.exceptions import ConfigError, SchemaError
from kehu.warehouse import ImportOptions, ImportResult, connect, import_orders

if TYPE_CHECKING:  # pandas is imported by analyze only: `kehu classify` never needs it
    import pandas as pd

    from kehu.services.understanding import ReportData

StepCallback = Callable[[str], None]
PathArg = str | Path | Sequence[str | Path]

#: the steps of ``analyze``, for progress bars
ANALYZE_STEPS = ("import", "classify", "predict", "compare", "understand")


@dataclass
class Classified:
    """A classified customer table and what produced it."""

    table: ir.Table
    classifiers: list[clf.Classifier]
    imported: ImportResult
    as_of: dt.date
    info: dict[str, Any] = field(default_factory=dict)


def import_options(settings: Settings, mapping: Sequence[str] = ()) -> ImportOptions:
    """Importer options from the config's ``import`` section plus ``--map`` strings."""
    section = dict(settings.import_)
    file_map = section.pop("map", {}) or {}
    if not isinstance(file_map, dict):
        raise ConfigError("import.map must be a mapping of canonical name -> source header")
    try:
        options = ImportOptions(mapping=dict(file_map), **section)
    except TypeError as exc:
        raise ConfigError(f"import: {exc}") from None
    if mapping:
        extra = ImportOptions.from_strings(list(mapping)).mapping
        options = ImportOptions(**{**options.__dict__, "mapping": {**options.mapping, **extra}})
    return options


def load(
    paths: PathArg,
    *,
    settings: Settings,
    customers: PathArg | None = None,
    products: PathArg | None = None,
    mapping: Sequence[str] = (),
    db: str | Path | None = None,
    materialize: bool = True,
) -> ImportResult:
    """Import order, customer and product files into DuckDB."""
    con = connect(db)
    return import_orders(
        paths,
        con=con,
        options=import_options(settings, mapping),
        customers=customers,
        products=products,
        materialize=materialize,
    )


def classifier_params(settings: Settings) -> dict[str, dict[str, Any]]:
    params = {name: dict(p) for name, p in settings.classifiers.items()}
    if settings.segments:
        params.setdefault("custom", {})["segments"] = dict(settings.segments)
    if "cluster" in clf.CLASSIFIERS:
        params.setdefault("cluster", {}).setdefault("lang", settings.lang)
    unknown = sorted(set(params) - set(clf.CLASSIFIERS))
    if unknown:
        raise ConfigError(
            f"classifiers: unknown classifier(s) {', '.join(unknown)}; "
            f"known: {', '.join(clf.CLASSIFIERS)}"
        )
    return params


def classify_orders(
    orders: ir.Table,
    *,
    products: ir.Table | None,
    customers: ir.Table | None,
    settings: Settings,
    names: Sequence[str] = clf.RULE_CLASSIFIERS,
    as_of: dt.date | None = None,
) -> tuple[ir.Table, list[clf.Classifier], dt.date]:
    """The one way from orders to classes, for the analyst's files and the team's store alike.

    Features at ``as_of`` (default: the settings', else the day after the last order), the
    category mix when ``cluster`` is asked for and products have categories, then the
    classifiers ``names`` (plus ``custom`` when the settings define segments).  Returns the
    per-customer table, the fitted classifiers and the as-of date used.
    """
    day = as_of or settings.as_of or default_as_of(orders)
    features = customer_features(
        orders,
        products=products,
        customers=customers,
        as_of=day,
        window_days=settings.window_days,
    )
    params = classifier_params(settings)
    if "cluster" in names and products is not None and "category" in products.columns:
        from kehu.analytics.mix import category_mix

        mix, mix_names = category_mix(orders, products, as_of=day, window_days=settings.window_days)
        features = features.left_join(mix, "customer_id").drop("customer_id_right")
        params.setdefault("cluster", {}).setdefault("mix_names", mix_names)
    # one engine pass for the per-customer table; the fits then read this
    features = features.cache()
    names = [n for n in names if n != "custom"] + (["custom"] if "custom" in params else [])
    table, fitted = clf.classify(features, names, {n: params.get(n, {}) for n in names})
    return table, fitted, day


def classify_imported(
    imported: ImportResult,
    *,
    settings: Settings,
    names: Sequence[str] = clf.RULE_CLASSIFIERS,
    as_of: dt.date | None = None,
) -> Classified:
    """:func:`classify_orders` over imported files, with the run's record."""
    day = as_of or settings.as_of
    if day is None and imported.summary.last_order:  # known from the import: no query
        day = imported.summary.last_order.date() + dt.timedelta(days=1)
    table, fitted, day = classify_orders(
        imported.orders,
        products=imported.products,
        customers=imported.customers,
        settings=settings,
        names=names,
        as_of=day,
    )
    info = {
        "as_of": day.isoformat(),
        "window_days": settings.window_days,
        "classifiers": [c.record() for c in fitted],
    }
    return Classified(table=table, classifiers=fitted, imported=imported, as_of=day, info=info)


def classify_files(
    paths: PathArg,
    *,
    settings: Settings,
    customers: PathArg | None = None,
    products: PathArg | None = None,
    mapping: Sequence[str] = (),
    db: str | Path | None = None,
) -> Classified:
    """Import and classify with the rule classifiers (the table stays in the engine)."""
    imported = load(
        paths,
        settings=settings,
        customers=customers,
        products=products,
        mapping=mapping,
        db=db,
        materialize=False,
    )
    return classify_imported(imported, settings=settings)


def _fingerprint(imported: ImportResult, settings: Settings, names: Sequence[str]) -> dict:
    return {
        "summary": imported.summary.to_dict(),
        "settings": settings.model_dump(mode="json", by_alias=True),
        "classifiers": list(names),
    }


@dataclass
class Analysis:
    """What ``analyze`` produced: the classes, what the report shows, the kept run."""

    classified: Classified
    customers: pd.DataFrame
    report: ReportData
    previous: Classified | None
    run_id: str
    notes: list[str]


def analyze(
    paths: PathArg,
    *,
    settings: Settings,
    runs_dir: str | Path,
    customers: PathArg | None = None,
    products: PathArg | None = None,
    mapping: Sequence[str] = (),
    db: str | Path | None = None,
    on_step: StepCallback | None = None,
) -> Analysis:
    """The whole job: import, classify, predict, compare, understand; the run kept in runs_dir."""
    from kehu.services.runs import RunStore, run_id_for
    from kehu.services.understanding import understand

    step = on_step or (lambda _name: None)
    notes: list[str] = []

    step("import")
    imported = load(
        paths, settings=settings, customers=customers, products=products, mapping=mapping, db=db
    )
    if imported.summary.rows_kept == 0:
        raise SchemaError("no order line was kept by the import; see rejects for the reasons")

    step("classify")
    names = [*clf.RULE_CLASSIFIERS, "cluster", "custom"]
    current = classify_imported(imported, settings=settings, names=names)
    store = RunStore(runs_dir)
    published = store.published_for(current.as_of)
    if published is not None:
        # a published period keeps its grades (档位) even if the data change
        locked = to_table(published.customers(["customer_id", "grade"]))
        current.table = apply_published(current.table, locked)
        current.info["grades_locked_from"] = published.run_id
        notes.append(f"grades locked from published run {published.run_id}")
    table = current.table.order_by("customer_id").to_pandas()
    step("predict")
    predictions = None
    if settings.predictions:
        from kehu.services.predictions import predict

        predictions = predict(
            imported.orders, imported.products, as_of=current.as_of, lang=settings.lang
        )
        table = table.merge(predictions.customers, on="customer_id", how="left")
        notes.extend(predictions.notes)
    run_id = run_id_for(current.as_of, _fingerprint(imported, settings, names))
    store.save(run_id, table, current.info)

    step("compare")
    previous = None
    before = current.as_of - dt.timedelta(days=settings.compare_days)
    first_day = imported.summary.first_order  # of the kept lines, as the orders table
    if first_day is not None and first_day.date() < before:
        previous = classify_imported(imported, settings=settings, as_of=before)
        prev_table = previous.table.to_pandas()
        previous.table = to_table(prev_table)  # the migration reads this: no second classification
        store.save(
            run_id_for(before, _fingerprint(imported, settings, clf.RULE_CLASSIFIERS)),
            prev_table,
            previous.info,
        )
    else:
        notes.append(f"no orders before {before}: no migration to show")

    step("understand")
    data = understand(current, table, previous, settings=settings, notes=notes)
    data.predictions = predictions.report if predictions is not None else None

    return Analysis(
        classified=current,
        customers=table,
        report=data,
        previous=previous,
        run_id=run_id,
        notes=notes,
    )


def explain_customer(
    customer_id: str,
    paths: PathArg,
    *,
    settings: Settings,
    customers: PathArg | None = None,
    products: PathArg | None = None,
    mapping: Sequence[str] = (),
) -> list[clf.Explanation]:
    """Why one customer has each class: every classifier's inputs and thresholds."""
    from kehu.exceptions import NotFoundError

    imported = load(
        paths, settings=settings, customers=customers, products=products, mapping=mapping
    )
    names = [*clf.RULE_CLASSIFIERS, "cluster", "custom"]
    result = classify_imported(imported, settings=settings, names=names)
    rows = result.table.filter(result.table.customer_id == str(customer_id)).to_pandas()
    if rows.empty:
        raise NotFoundError(f"customer {customer_id!r} has no kept purchase before {result.as_of}")
    row = rows.iloc[0].to_dict()
    return [c.explain(row) for c in result.classifiers]
