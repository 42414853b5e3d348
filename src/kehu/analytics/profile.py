"""Profile of every class of one classifier (客户画像): size, value, R/F/M, mixes.

The work is done in the engine; the result has one row per class, small
enough for the report to pull into pandas.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.schema import require_columns, to_table
from kehu.exceptions import SchemaError

NONE_CLASS = "(none)"

PROFILE_COLUMNS = (
    "class",
    "customers",
    "customer_share",
    "revenue",
    "revenue_share",
    "mean_recency_days",
    "mean_orders",
    "mean_monetary",
    "mean_aov",
)


def class_key(column: ir.Column) -> ir.StringValue:
    """A class column as display keys: strings, with missing classes as "(none)"."""
    return column.cast("string").fill_null(NONE_CLASS)


def share_list(
    table: ir.Table, group: str, item: str, weight: str, *, top_n: int, what: str = "mix"
) -> ir.Table:
    """Top ``top_n`` values of ``item`` per ``group`` by ``weight``, as one string.

    Returns ``group`` and a column named ``what`` such as "饮料 (32%), 零食 (21%)";
    shares are of the group's total weight, ties broken by the item name.
    """
    t = table.mutate(_item=table[item].cast("string").fill_null(NONE_CLASS))
    g = t.group_by([group, "_item"]).agg(_w=t[weight].sum())
    total = g._w.sum().over(group_by=g[group])
    g = g.mutate(
        _share=ibis.ifelse(total > 0, g._w / total, ibis.null("float64")),
        _rank=ibis.row_number().over(
            group_by=g[group], order_by=[ibis.desc(g._w), ibis.asc(g._item)]
        ),
    )
    g = g.filter(g._rank < top_n)
    pct = (g._share * 100).round(0).cast("int64").cast("string")
    g = g.mutate(_text=g._item + ibis.ifelse(g._share.isnull(), "", " (" + pct + "%)"))
    return g.group_by(group).agg(**{what: g._text.group_concat(", ", order_by=g._rank)})


def class_profile(
    customers: Any,
    by: str,
    *,
    orders: Any = None,
    products: Any = None,
    top_n: int = 3,
) -> ir.Table:
    """Per class of column ``by``: size, shares, mean R/F/M and mixes.

    Parameters
    ----------
    customers
        Per-customer table with the RFM contract and the class column ``by``;
        ``region`` (or ``province``) and ``channel`` give the mixes when present.
    by
        The class column (``rfm8``, ``segment``, ``grade`` ...).  Missing
        classes are reported as "(none)".
    orders, products
        Canonical orders and products; when both are given the profile gets
        ``top_categories`` and ``top_brands`` (by spend of the class's customers).
        When the customers have no ``channel`` but the orders do, the channel mix
        is the class's spend by order channel.
    top_n
        How many values each mix lists.

    Returns
    -------
    Ibis table: ``class`` (string), ``customers``, ``customer_share``, ``revenue``
    (sum of ``monetary``), ``revenue_share``, ``mean_recency_days``,
    ``mean_orders``, ``mean_monetary``, ``mean_aov`` and, where the data allow,
    ``top_categories``, ``top_brands``, ``region_mix``, ``channel_mix``; ordered
    by the class value (so grades and deciles sort numerically).
    """
    if top_n < 1:
        raise SchemaError(f"top_n must be at least 1, got {top_n}")
    c = to_table(customers, "customers")
    require_columns(
        c, ["customer_id", by, "recency_days", "orders", "monetary", "avg_order_value"], "customers"
    )
    c = c.mutate(_class=class_key(c[by]), _sort=c[by])
    g = _class_sizes(c)
    extras = _attribute_mixes(c, top_n)
    if orders is not None:
        extras += _spend_mixes(c, to_table(orders, "orders"), products, top_n)
    for extra in extras:
        g = g.left_join(extra.rename(_key="_class"), g._class == extra._class).drop("_key")
    g = g.order_by([g._sort.asc(nulls_first=False), g._class])
    rest = [col for col in g.columns if col not in PROFILE_COLUMNS and not col.startswith("_")]
    return g.select(
        g._class.name("class"), *[col for col in PROFILE_COLUMNS if col != "class"], *rest
    )


def _class_sizes(c: ir.Table) -> ir.Table:
    """Per class: customers, revenue, their shares and the mean R/F/M (the fixed columns)."""
    g = c.group_by("_class").agg(
        _sort=c._sort.min(),
        customers=c.customer_id.count(),
        revenue=c.monetary.sum(),
        mean_recency_days=c.recency_days.mean(),
        mean_orders=c.orders.mean(),
        mean_monetary=c.monetary.mean(),
        mean_aov=c.avg_order_value.mean(),
    )
    n_total = g.customers.sum().over()
    rev_total = g.revenue.sum().over()
    return g.mutate(
        customer_share=g.customers / n_total,
        revenue_share=ibis.ifelse(rev_total > 0, g.revenue / rev_total, ibis.null("float64")),
    )


def _attribute_mixes(c: ir.Table, top_n: int) -> list[ir.Table]:
    """The region and channel mixes of the customers themselves (one count each)."""
    extras: list[ir.Table] = []
    region = next((col for col in ("region", "province") if col in c.columns), None)
    ones = c.mutate(_one=ibis.literal(1))
    if region:
        extras.append(share_list(ones, "_class", region, "_one", top_n=top_n, what="region_mix"))
    if "channel" in c.columns:
        extras.append(
            share_list(ones, "_class", "channel", "_one", top_n=top_n, what="channel_mix")
        )
    return extras


def _spend_mixes(c: ir.Table, orders: ir.Table, products: Any, top_n: int) -> list[ir.Table]:
    """Top categories and brands by the class's spend; its channel mix when only orders have one."""
    extras: list[ir.Table] = []
    lines = _class_lines(c, orders)
    if products is not None:
        p = to_table(products, "products")
        require_columns(p, ["product_id"], "products")
        keep = [col for col in ("category", "brand") if col in p.columns]
        p = p.select(_pid=p.product_id.cast("string"), **{col: p[col] for col in keep})
        lp = lines.left_join(p, lines._pid == p._pid)
        for col, what in (("category", "top_categories"), ("brand", "top_brands")):
            if col in keep:
                extras.append(share_list(lp, "_class", col, "amount", top_n=top_n, what=what))
    if "channel" not in c.columns and "channel" in lines.columns:
        extras.append(
            share_list(lines, "_class", "channel", "amount", top_n=top_n, what="channel_mix")
        )
    return extras


def _class_lines(customers: ir.Table, orders: ir.Table) -> ir.Table:
    """Order lines of the profiled customers, tagged with their class."""
    require_columns(orders, ["customer_id", "amount"], "orders")
    cols = {"_cid": orders.customer_id.cast("string"), "amount": orders.amount.cast("float64")}
    if "product_id" in orders.columns:
        cols["_pid"] = orders.product_id.cast("string")
    else:
        cols["_pid"] = ibis.null("string")
    if "channel" in orders.columns:
        cols["channel"] = orders.channel
    o = orders.filter(orders.customer_id.notnull()).select(**cols)
    k = customers.select(_cid=customers.customer_id.cast("string"), _class=customers._class)
    return o.join(k, "_cid")
