"""Classes (客户分类): per classifier, class sizes, revenue shares, profiles and treatments,
the migration between two runs, and the run's rule version and thresholds.

Everything is computed in SQL over ``classification_results`` of one run, restricted to
the actor's customers (a rep's numbers are over their own customers only).  Thresholds
are shown only to roles that see every customer: cut points are real customers' totals.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Float, and_, cast, func, select
from sqlalchemy.orm import Session, aliased

from kehu import i18n
from kehu.exceptions import NotFoundError, SchemaError
from kehu.names import CLASS_COLUMNS
from kehu.services.access import Actor, require
from kehu.services.memo import RESULTS_DEPEND_ON, remembered
from kehu.services.refresh import current_run, get_run
from kehu.services.scope import scope_customers
from kehu.store.models.classification import ClassificationResult, ClassificationRun
from kehu.store.models.customers import Customer

#: classifiers with a class column in the results, in display order
CLASSIFIERS = CLASS_COLUMNS
#: the succeeded runs offered for a comparison
MAX_RUNS = 50
#: the class of customers absent from one of the two runs in a migration
NONE = None


@functools.cache
def _playbook():
    from kehu.analytics.playbook import Playbook

    return Playbook.default()


def _column(classifier: str, table=ClassificationResult):
    if classifier not in CLASSIFIERS:
        raise SchemaError(f"classifier {classifier!r} is not one of {', '.join(CLASSIFIERS)}")
    return getattr(table, classifier)


def _value(v: Any) -> str | None:
    return None if v is None else str(v)


def _run(session: Session, actor: Actor, run_id: int | None) -> ClassificationRun:
    if run_id is None:
        run = current_run(session)
        if run is None:
            raise NotFoundError("no classification run yet")
        return run
    run = get_run(session, actor=actor, run_id=run_id)
    if run.status != "succeeded":
        raise NotFoundError(f"run {run_id} did not succeed")
    return run


def succeeded_runs(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """The latest succeeded runs, newest first (id, as_of, finished_at, customers)."""
    require(actor, "runs.read")
    stmt = (
        select(ClassificationRun)
        .where(ClassificationRun.status == "succeeded")
        .order_by(ClassificationRun.id.desc())
        .limit(MAX_RUNS)
    )
    return [
        {"id": r.id, "as_of": r.as_of, "finished_at": r.finished_at, "customers": r.customers}
        for r in session.scalars(stmt)
    ]


def _ordered(classifier: str, values: list[str | None]) -> list[str | None]:
    order = [str(v) for v in i18n.class_order(classifier)] if classifier != "grade" else []
    rank = {v: i for i, v in enumerate(order)}

    def key(v):
        if v is None:
            return (2, 0, "")
        if v in rank:
            return (0, rank[v], "")
        return (1, int(v) if v.isdigit() else 0, v)

    return sorted(values, key=key)


def class_summary(
    session: Session,
    *,
    actor: Actor,
    classifier: str = "rfm8",
    run_id: int | None = None,
    lang: str = "zh",
) -> dict[str, Any]:
    """The classes of ``classifier`` in a run (the current one by default).

    Returns ``run`` (id, as_of), ``customers`` and ``revenue`` (totals over the actor's
    customers), ``classes`` (one row per class: ``class``, ``customers``, ``customer_share``,
    ``revenue``, ``revenue_share``, ``mean_recency_days``, ``mean_orders``,
    ``mean_monetary``, ``mean_clv``, ``mean_churn`` (``None`` when not stored) and
    ``treatment`` (the playbook's action, channel, cadence, offer, or ``None``)),
    ``version`` and ``params`` of the classifier, and ``thresholds`` (``None`` for reps).
    """
    require(actor, "runs.read")
    col = _column(classifier)
    run = _run(session, actor, run_id)
    r = ClassificationResult
    stmt = (
        select(
            col.label("cls"),
            func.count(r.id).label("customers"),
            func.sum(r.monetary).label("revenue"),
            func.avg(cast(r.recency_days, Float)).label("mean_recency_days"),
            func.avg(cast(r.orders, Float)).label("mean_orders"),
            func.avg(r.monetary).label("mean_monetary"),
            func.avg(r.scores["clv"].as_float()).label("mean_clv"),
            func.avg(r.scores["churn_probability"].as_float()).label("mean_churn"),
        )
        .select_from(r)
        .join(Customer, Customer.id == r.customer_id)
        .where(r.run_id == run.id)
        .group_by(col)
    )
    rows = remembered(
        session,
        actor,
        ("class_summary", run.id, classifier),
        lambda: [dict(x._mapping) for x in session.execute(scope_customers(stmt, actor))],
        on=RESULTS_DEPEND_ON,
    )
    customers = sum(int(x["customers"]) for x in rows)
    revenue = sum(float(x["revenue"] or 0) for x in rows)
    classes = _class_rows(rows, classifier, customers, revenue, lang)
    record = next((c for c in run.classifiers or [] if c.get("classifier") == classifier), {})
    return {
        "run": {"id": run.id, "as_of": run.as_of, "finished_at": run.finished_at},
        "classifier": classifier,
        "customers": customers,
        "revenue": revenue,
        "classes": classes,
        "version": record.get("version"),
        "params": record.get("params"),
        "thresholds": record.get("thresholds") if actor.sees_all_customers else None,
    }


#: the means of a class, as stored floats
MEANS = ("mean_recency_days", "mean_orders", "mean_monetary", "mean_clv", "mean_churn")


def _class_rows(rows, classifier: str, customers: int, revenue: float, lang: str) -> list[dict]:
    """One row per class in display order, with its shares, means and playbook treatment."""
    book = _playbook()
    by_class = {_value(x["cls"]): x for x in rows}
    out = []
    for value in _ordered(classifier, list(by_class)):
        x = by_class[value]
        n, rev = int(x["customers"]), float(x["revenue"] or 0)
        out.append(
            {
                "class": value,
                "customers": n,
                "customer_share": n / customers if customers else None,
                "revenue": rev,
                "revenue_share": rev / revenue if revenue else None,
                **{k: None if x[k] is None else float(x[k]) for k in MEANS},
                "treatment": book.for_class(classifier, value, lang) if value else None,
            }
        )
    return out


def class_migration(
    session: Session,
    *,
    actor: Actor,
    classifier: str = "rfm8",
    from_run: int,
    to_run: int,
) -> dict[str, Any]:
    """Counts of the actor's customers moving from class X in ``from_run`` to class Y in
    ``to_run``.  A customer classified only in ``to_run`` comes from ``None`` (new), one
    only in ``from_run`` goes to ``None`` (no longer classified).

    Returns ``from_run``, ``to_run``, ``rows`` (``from``, ``to``, ``customers``) and the
    ordered class lists ``from_classes`` and ``to_classes``.
    """
    require(actor, "runs.read")
    a_run, b_run = _run(session, actor, from_run), _run(session, actor, to_run)
    return remembered(
        session,
        actor,
        ("class_migration", a_run.id, b_run.id, classifier),
        lambda: _migration(session, actor, a_run, b_run, classifier),
        on=RESULTS_DEPEND_ON,
    )


def _migration(session, actor, a_run, b_run, classifier) -> dict[str, Any]:
    a, b = aliased(ClassificationResult), aliased(ClassificationResult)
    ca, cb = _column(classifier, a), _column(classifier, b)
    counts: dict[tuple[str | None, str | None], int] = {}

    def add(stmt):
        for f, t, n in session.execute(scope_customers(stmt, actor)):
            key = (_value(f), _value(t))
            counts[key] = counts.get(key, 0) + int(n)

    # every customer of the later run, with their earlier class if they had one
    add(
        select(ca, cb, func.count(b.id))
        .select_from(b)
        .join(Customer, Customer.id == b.customer_id)
        .outerjoin(a, and_(a.customer_id == b.customer_id, a.run_id == a_run.id))
        .where(b.run_id == b_run.id)
        .group_by(ca, cb)
    )
    # customers of the earlier run missing from the later one
    later = select(ClassificationResult.customer_id).where(ClassificationResult.run_id == b_run.id)
    add(
        select(ca, cb, func.count(a.id))
        .select_from(a)
        .join(Customer, Customer.id == a.customer_id)
        .outerjoin(b, and_(b.customer_id == a.customer_id, b.run_id == -1))
        .where(a.run_id == a_run.id, a.customer_id.not_in(later))
        .group_by(ca, cb)
    )
    rows = [{"from": f, "to": t, "customers": n} for (f, t), n in counts.items()]
    return {
        "from_run": {"id": a_run.id, "as_of": a_run.as_of},
        "to_run": {"id": b_run.id, "as_of": b_run.as_of},
        "rows": rows,
        "from_classes": _ordered(classifier, list({r["from"] for r in rows})),
        "to_classes": _ordered(classifier, list({r["to"] for r in rows})),
    }
