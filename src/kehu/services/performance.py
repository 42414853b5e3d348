"""Performance from the store (经营表现): KPIs by month and per rep, region, channel, distributor.

Everything is aggregated in SQL over ``customer_months`` (each customer's orders per month,
kept as orders are written: :mod:`kehu.services.sales_months`) joined to ``customers``
(restricted to the actor's customers: a sales rep's numbers are their own customers' only,
never totals that include others).  The definitions follow :mod:`kehu.analytics.kpis`:

* ``sales`` -- the sum of the orders' ``amount`` in the month (orders of identified customers);
* ``orders`` -- the number of those orders;
* ``active`` -- customers with at least one order in the month;
* ``new`` -- active customers whose first order ever falls in the month;
* ``repeat_rate`` -- active customers with two or more orders in the month / ``active``;
* ``aov`` -- ``sales / orders``; ``revenue_per_customer`` -- ``sales / active``;
* ``growth`` -- ``sales / sales of the previous month - 1`` (``None`` without sales then);
  ``growth_yoy`` the same against the month a year before;
* ``coverage`` -- ``active`` / all customers of the group;
* ``attainment`` -- ``sales / target sales`` and ``active / target active customers``.

The monthly aggregates read a row per customer and month shown (hundreds of thousands at
100k customers), so they are kept until the store changes (:mod:`kehu.services.memo`); targets are
read fresh every time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kehu.exceptions import SchemaError
from kehu.services import refresh, targets
from kehu.services.access import Actor, require
from kehu.services.memo import RESULTS_DEPEND_ON, remembered
from kehu.services.scope import scope_customers
from kehu.store.models import ClassificationResult, Customer, CustomerMonth
from kehu.store.models.base import utcnow
from kehu.store.models.people import TARGET_DIMENSIONS

MONTHS = 12
MAX_GROUPS = 200


def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``month`` (``n`` may be negative)."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _ratio(a: Any, b: Any) -> float | None:
    return float(a) / float(b) if a is not None and b else None


def _growth(now: Any, before: Any) -> float | None:
    return float(now or 0) / float(before) - 1 if before else None


def default_month(today: dt.date | None = None) -> dt.date:
    """The month shown by default: the current one."""
    return (today or utcnow().date()).replace(day=1)


def _per_customer(actor: Actor, windows: list[dt.date], group: Any = None):
    """Per customer and month (``YYYY-MM``) within the given months: sales, order count and
    whether it is the customer's first month (the rows kept by :mod:`sales_months`)."""
    cm = CustomerMonth
    cols = [cm.customer_id.label("cid"), cm.month.label("m")]
    if group is not None:
        cols.append(group.label("g"))
    stmt = (
        select(*cols, cm.sales.label("sales"), cm.orders.label("n"), cm.first_month)
        .join(Customer, Customer.id == cm.customer_id)
        .where(cm.month.in_([f"{w:%Y-%m}" for w in windows]))
    )
    return scope_customers(stmt, actor).subquery()


def _by_month(per: Any, keys: list[Any]):
    """Aggregate a per-customer subquery by ``keys`` + month."""
    return select(
        *keys,
        per.c.m,
        func.sum(per.c.sales),
        func.sum(per.c.n),
        func.count(),
        func.sum(case((per.c.n >= 2, 1), else_=0)),
        func.sum(case((per.c.first_month, 1), else_=0)),
    ).group_by(*keys, per.c.m)


def _figures(sales: Any, orders: Any, active: Any, repeat: Any, new: Any) -> dict[str, Any]:
    return {
        "sales": float(sales or 0),
        "orders": int(orders or 0),
        "active": int(active or 0),
        "new": int(new or 0),
        "repeaters": int(repeat or 0),
        "repeat_rate": _ratio(repeat, active),
        "aov": _ratio(sales, orders),
        "revenue_per_customer": _ratio(sales, active),
    }


def monthly_kpis(
    session: Session, *, actor: Actor, month: dt.date | None = None, months: int = MONTHS
) -> list[dict[str, Any]]:
    """The KPIs of the ``months`` months ending with ``month`` (oldest first, every month
    present, zeros where nothing was sold), with ``growth`` against the month before."""
    end = (month or default_month()).replace(day=1)
    windows = [add_months(end, -i) for i in range(months, -1, -1)]  # one more, for growth

    def compute() -> dict[str, tuple]:
        per = _per_customer(actor, windows)
        return {row[0]: tuple(row[1:]) for row in session.execute(_by_month(per, []))}

    got = remembered(session, actor, ("months", tuple(windows)), compute)
    out, before = [], None
    for w in windows:
        sales, orders, active, repeat, new = got.get(f"{w:%Y-%m}", (0, 0, 0, 0, 0))
        row = {"month": w, **_figures(sales, orders, active, repeat, new)}
        row["growth"] = _growth(row["sales"], before)
        before = row["sales"]
        out.append(row)
    return out[1:]


def group_table(
    session: Session, *, actor: Actor, dimension: str, month: dt.date | None = None
) -> dict[str, Any]:
    """Per rep, region, channel or distributor for ``month``: the KPIs, growth against the
    previous month and the same month a year before, coverage, targets and attainment.

    Returns ``{"month", "dimension", "rows": [...], "total": {...}}``; a row's ``name`` is
    ``None`` for customers without a value.  Rows are sorted by sales, at most
    :data:`MAX_GROUPS`; targets are those the actor may read (a rep: their own).
    """
    if dimension not in TARGET_DIMENSIONS:
        raise SchemaError(f"dimension {dimension!r} is not one of {TARGET_DIMENSIONS}")
    month = (month or default_month()).replace(day=1)
    prev, last_year = add_months(month, -1), add_months(month, -12)
    field = targets.DIMENSION_FIELD[dimension]

    def compute() -> tuple[dict[Any, dict[str, tuple]], dict[Any, int]]:
        per = _per_customer(actor, [month, prev, last_year], group=field)
        figures: dict[Any, dict[str, tuple]] = {}
        for g, m, *rest in session.execute(_by_month(per, [per.c.g])):
            figures.setdefault(g, {})[m] = tuple(rest)
        counts = dict(
            session.execute(
                scope_customers(select(field, func.count()).group_by(field), actor)
            ).all()
        )
        return figures, counts

    figures, counts = remembered(session, actor, ("groups", dimension, month), compute)
    goals = {}
    if targets.may_read(actor):
        goals = {
            t["name"]: t
            for t in targets.list_targets(session, actor=actor, month=month, dimension=dimension)
        }
    names = set(figures) | set(counts) | set(goals)
    rows = [
        _group_row(name, figures.get(name, {}), counts.get(name, 0), goals.get(name), month)
        for name in names
    ]
    rows.sort(key=lambda r: (-r["sales"], -r["customers"], r["name"] or "\uffff"))
    total = _total(rows)
    return {"month": month, "dimension": dimension, "rows": rows[:MAX_GROUPS], "total": total}


def _group_row(
    name: Any, by_month: dict[str, tuple], customers: int, goal: Any, month: dt.date
) -> dict[str, Any]:
    zero = (0, 0, 0, 0, 0)
    now = _figures(*by_month.get(f"{month:%Y-%m}", zero))
    prev = _figures(*by_month.get(f"{add_months(month, -1):%Y-%m}", zero))
    ly = _figures(*by_month.get(f"{add_months(month, -12):%Y-%m}", zero))
    return {
        "name": name,
        **now,
        "customers": customers,
        "coverage": _ratio(now["active"], customers),
        "prev_sales": prev["sales"],
        "ly_sales": ly["sales"],
        "growth": _growth(now["sales"], prev["sales"]),
        "growth_yoy": _growth(now["sales"], ly["sales"]),
        "target_sales": goal["sales"] if goal else None,
        "target_active": goal["active_customers"] if goal else None,
        "attainment_sales": _ratio(now["sales"], goal["sales"]) if goal else None,
        "attainment_active": _ratio(now["active"], goal["active_customers"]) if goal else None,
    }


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("sales", "orders", "active", "new", "repeaters", "customers", "prev_sales", "ly_sales")
    t: dict[str, Any] = {k: sum(r[k] for r in rows) for k in keys}
    goals = [r["target_sales"] for r in rows if r["target_sales"] is not None]
    t.update(
        repeat_rate=_ratio(t["repeaters"], t["active"]),
        coverage=_ratio(t["active"], t["customers"]),
        growth=_growth(t["sales"], t["prev_sales"]),
        growth_yoy=_growth(t["sales"], t["ly_sales"]),
        target_sales=sum(goals) if goals else None,
        attainment_sales=_ratio(t["sales"], sum(goals)) if goals else None,
    )
    return t


def revenue_by_class(
    session: Session, *, actor: Actor, classifier: str = "rfm8"
) -> list[dict[str, Any]]:
    """Customers and their spend (the refresh's ``monetary``) per class of the current run."""
    run = refresh.current_run(session)
    if run is None or classifier not in ("rfm8", "segment", "lifecycle", "abc"):
        return []
    col = getattr(ClassificationResult, classifier)
    stmt = (
        select(col, func.count(), func.sum(ClassificationResult.monetary))
        .join(Customer, Customer.id == ClassificationResult.customer_id)
        .where(ClassificationResult.run_id == run.id)
        .group_by(col)
        .order_by(func.sum(ClassificationResult.monetary).desc())
    )
    return remembered(
        session,
        actor,
        ("revenue_by_class", run.id, classifier),
        lambda: [
            {"value": v, "customers": n, "revenue": float(s or 0)}
            for v, n, s in session.execute(scope_customers(stmt, actor))
        ],
        on=RESULTS_DEPEND_ON,
    )


def latest_alerts(session: Session, *, actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """The alerts of the current run for the actor's customers, with each customer's id."""
    require(actor, "runs.read")
    run = refresh.current_run(session)
    if run is None:
        return []
    alerts = refresh.run_alerts(session, actor=actor, run_id=run.id, limit=limit)
    ids = {a.customer_id for a in alerts}
    names = (
        dict(session.execute(select(Customer.id, Customer.code).where(Customer.id.in_(ids))).all())
        if ids
        else {}
    )
    return [
        {
            "customer_id": names.get(a.customer_id),
            "kind": a.kind,
            "classifier": a.classifier,
            "from_class": a.from_class,
            "to_class": a.to_class,
        }
        for a in alerts
    ]


def may_see_totals(actor: Actor) -> bool:
    """Whether the actor is shown performance across reps (managers, admins, analysts);
    the numbers themselves are always restricted to the actor's customers."""
    return actor.sees_all_customers and (actor.can("targets.manage") or actor.can("refresh.run"))


def latest_month(session: Session, *, actor: Actor) -> dt.date:
    """The month of the actor's latest order (the current month when there is none)."""

    def compute() -> str | None:
        stmt = select(func.max(CustomerMonth.month)).join(
            Customer, Customer.id == CustomerMonth.customer_id
        )
        return session.scalar(scope_customers(stmt, actor))

    last = remembered(session, actor, ("latest_month",), compute)
    return dt.date(int(last[:4]), int(last[5:7]), 1) if last else default_month()


def parse_month(text: str | None) -> dt.date | None:
    """``YYYY-MM`` as the month's first day; ``None`` when not given; SchemaError if wrong."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) != 7 or text[4] != "-":
        raise SchemaError(f"month {text!r} is not YYYY-MM")
    month = targets.first_of_month(text)
    if not 1900 <= month.year <= 2999:
        raise SchemaError(f"month {text!r} is out of range")
    return month
