"""The store's orders, customers and products, read through Ibis into an in-process DuckDB."""

from __future__ import annotations

import logging

import ibis
import ibis.expr.types as ir
from sqlalchemy import Engine

log = logging.getLogger("kehu.refresh")


# --- reading the store through Ibis ----------------------------------------------------------


def store_backend(engine: Engine):
    """An Ibis backend on the store's own database."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return ibis.sqlite.connect(url.database or ":memory:")
    return ibis.postgres.connect(
        host=url.host or "localhost",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )


def store_tables(backend) -> dict[str, ir.Table]:
    """The store's orders, customers and products in the canonical schema of the analytics."""
    o, ln = backend.table("orders"), backend.table("order_lines")
    c, p = backend.table("customers"), backend.table("products")
    j = ln.join(o, ln.order_id == o.id).left_join(c, o.customer_id == c.id)
    orders = j.select(
        customer_id=c.code,
        order_id=o.order_no,
        order_time=o.order_time.cast("timestamp"),
        product_id=ln.product_code,
        quantity=ln.quantity.cast("float64"),
        price=ln.price.cast("float64"),
        amount=ln.amount.cast("float64"),
        is_return=ln.is_return.cast("boolean"),
        status=ln.status,
        channel=o.channel,
        store_id=o.store_id,
    )
    customers = c.select(
        customer_id=c.code,
        name=c.name,
        country=c.country,
        province=c.province,
        city=c.city,
        district=c.district,
        area_type=c.area_type,
        channel=c.channel,
        gender=c.gender,
        age_band=c.age_band,
        income_band=c.income_band,
        sales_rep=c.sales_rep,
        distributor_id=c.distributor,
        no_personalised_marketing=c.no_personalised_marketing,
    )
    products = p.select(
        product_id=p.code,
        name=p.name,
        category=p.category,
        brand=p.brand,
        price=p.price.cast("float64"),
        pack_size=p.pack_size,
    )
    return {"orders": orders, "customers": customers, "products": products}


def read_store(engine: Engine) -> tuple[dict[str, ir.Table], dict[str, int]]:
    """Copy the canonical tables once into an in-process DuckDB for the analytics.

    Also returns the order lines left out, by reason: on SQLite an ``order_time``
    is stored as text and one that is not a date reads as null.
    """
    import pyarrow.compute as pc

    from kehu.warehouse import connect

    backend = store_backend(engine)
    skipped: dict[str, int] = {}
    try:
        duck = connect(None)
        out = {}
        for name, expr in store_tables(backend).items():
            data = expr.to_pyarrow()
            if name == "orders":
                data, skipped = _drop_bad_times(data, pc)
            out[name] = duck.create_table(name, data, overwrite=True)
    finally:
        backend.disconnect()
    return out, skipped


def _drop_bad_times(data, pc):
    bad = pc.is_null(data["order_time"])
    n_bad = pc.sum(bad).as_py() or 0
    if not n_bad:
        return data, {}
    orders = sorted(set(data.filter(bad)["order_id"].to_pylist()), key=str)
    # the order numbers go to the log only: the run's notes are read by every role
    log.warning(
        "refresh: %d order lines skipped, their order_time is not a date; orders: %s%s",
        n_bad,
        ", ".join(map(str, orders[:20])),
        f" and {len(orders) - 20} more" if len(orders) > 20 else "",
    )
    return data.filter(pc.invert(bad)), {"order_time_not_a_date": n_bad}


#: reason of skipped order lines -> how the run's notes say it
SKIP_REASONS = {"order_time_not_a_date": "their order_time is not a date"}


def _skip_notes(skipped: dict[str, int]) -> list[str]:
    return [
        f"skipped {n} order line{'s' if n != 1 else ''}: {SKIP_REASONS.get(why, why)} "
        "(the server log lists the orders)"
        for why, n in skipped.items()
    ]
