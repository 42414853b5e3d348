"""Category mix: each customer's share of spend per top category, pivoted in the engine."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.rfm import DateLike, purchase_window
from kehu.analytics.schema import require_columns, to_table
from kehu.exceptions import ConfigError

__all__ = ["MIX_OTHER", "MIX_PREFIX", "category_mix", "mix_column_names"]

MIX_PREFIX = "mix_"
#: column of the share of everything outside the top categories (and of unknown categories)
MIX_OTHER = "mix_other"


def mix_column_names(categories: list[str]) -> dict[str, str]:
    """Safe, unique ``mix_<name>`` column names for ``categories``: column -> category.

    Letters and digits are kept (CJK included, ASCII lower-cased); anything else
    becomes ``_``.  Clashes (with each other or with ``mix_other``) get ``_2``, ``_3``...

    Examples
    --------
    >>> mix_column_names(["Soft Drinks & Juice", "饮料", "other"])
    {'mix_soft_drinks_juice': 'Soft Drinks & Juice', 'mix_饮料': '饮料', 'mix_other_2': 'other'}
    """
    out: dict[str, str] = {}
    taken = {MIX_OTHER}
    for cat in categories:
        text = unicodedata.normalize("NFKC", str(cat))
        slug = "".join(ch.lower() if ch.isascii() else ch for ch in text)
        slug = re.sub(r"[^\w]+", "_", slug).strip("_") or "category"
        base = f"{MIX_PREFIX}{slug}"
        col, i = base, 2
        while col in taken:
            col, i = f"{base}_{i}", i + 1
        taken.add(col)
        out[col] = cat
    return out


def category_mix(
    orders: Any,
    products: Any,
    *,
    top_n: int = 8,
    as_of: DateLike | None = None,
    window_days: int | None = None,
) -> tuple[ir.Table, dict[str, str]]:
    """Per customer, the share of purchase amount in each of the top categories.

    Parameters
    ----------
    orders
        Canonical order lines (``customer_id, order_time, amount, product_id``).
    products
        Canonical products (``product_id, category``).
    top_n
        How many categories get their own column: the ``top_n`` largest by
        purchase amount over all customers in the window (ties by name).
    as_of, window_days
        The purchase window, as in :func:`kehu.analytics.rfm.purchase_window`.

    Returns
    -------
    table
        ``customer_id, mix_<category>..., mix_other``: shares in [0, 1] summing
        to 1 per customer.  Only purchase lines count (returns and non-positive
        amounts are left out, so shares stay in [0, 1]); lines whose product or
        category is unknown count in ``mix_other``.  One row per customer with a
        positive purchase amount in the window.
    columns
        ``mix`` column -> category name (``mix_other`` excluded), in rank order.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "product_id": ["p", "q", "q"],
    ...     "order_time": pd.to_datetime(["2024-01-01"] * 3), "amount": [30.0, 10.0, 5.0]})
    >>> products = pd.DataFrame({"product_id": ["p", "q"], "category": ["饮料", "零食"]})
    >>> mix, cols = category_mix(orders, products, top_n=1)
    >>> cols
    {'mix_饮料': '饮料'}
    >>> mix.order_by("customer_id").to_pandas().to_dict("list")
    {'customer_id': ['a', 'b'], 'mix_饮料': [0.75, 0.0], 'mix_other': [0.25, 1.0]}
    """
    if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 0:
        raise ConfigError(f"category_mix: top_n must be a whole number >= 0, got {top_n!r}")
    o, _ = purchase_window(orders, as_of, window_days)
    lines = _purchase_categories(o, products)
    top = _top_categories(lines, top_n)
    columns = mix_column_names(top)
    return _shares(lines, columns, top), columns


def _purchase_categories(o: ir.Table, products: Any) -> ir.Table:
    """``customer_id, amount, _cat`` per purchase line; returns are left out so shares stay <= 1."""
    require_columns(o, ("product_id",), "orders")
    p = to_table(products, "products")
    require_columns(p, ("product_id", "category"), "products")

    p = p.select(_pid=p.product_id.cast("string"), _cat=p.category.cast("string"))
    p = p.distinct(on="_pid", keep="first")  # one category per product, even in a messy master
    purchase = o.amount > 0
    if "is_return" in o.columns:
        purchase = purchase & ~o.is_return.fill_null(False)
    o = o.filter(purchase).select(
        customer_id=o.customer_id.cast("string"),
        _pid=o.product_id.cast("string"),
        amount=o.amount.cast("float64"),
    )
    return o.left_join(p, "_pid").select("customer_id", "amount", "_cat")


def _top_categories(lines: ir.Table, top_n: int) -> list[str]:
    """The ``top_n`` known categories by purchase amount (ties by name): one column each."""
    ranked = (
        lines.filter(lines._cat.notnull())
        .group_by("_cat")
        .agg(revenue=lines.amount.sum())
        .order_by([ibis.desc("revenue"), "_cat"])
        .limit(top_n)
    )
    return ranked._cat.to_list() if top_n > 0 else []


def _shares(lines: ir.Table, columns: dict[str, str], top: list[str]) -> ir.Table:
    """One row per customer: the share of each top category and of everything else."""
    aggs = {col: lines.amount.sum(where=lines._cat == cat) for col, cat in columns.items()}
    in_other = lines._cat.isnull() | ~lines._cat.isin(top) if top else ibis.literal(True)
    wide = lines.group_by("customer_id").agg(
        _total=lines.amount.sum(), _other=lines.amount.sum(where=in_other), **aggs
    )
    # rounding keeps engines from disagreeing in the last bits; `other` is summed, not 1 - rest
    shares = {
        col: (wide[col].fill_null(0.0) / wide._total).round(12) for col in [*columns, "_other"]
    }
    wide = wide.mutate(**shares)
    return wide.select("customer_id", *columns, **{MIX_OTHER: wide._other})
