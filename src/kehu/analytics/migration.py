"""Class migration between two classification runs (类别迁移, from-to matrix)."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.profile import NONE_CLASS
from kehu.analytics.schema import require_columns, to_table

NEW = "(new)"
GONE = "(gone)"


def migration_matrix(
    before: Any, after: Any, column: str = "rfm8", *, key: str = "customer_id"
) -> ir.Table:
    """How many customers moved from each class to each class.

    Parameters
    ----------
    before, after
        Per-customer tables of the two runs, each with ``key`` and ``column``.
    column
        The class column compared.
    key
        The customer identity.

    Returns
    -------
    Long Ibis table ``from``, ``to``, ``customers``, ``share_of_from`` (share of
    the ``from`` class's customers).  A customer only in ``after`` comes from
    "(new)", one only in ``before`` goes to "(gone)"; a missing class is "(none)".
    """
    b = to_table(before, "before")
    a = to_table(after, "after")
    require_columns(b, [key, column], "before")
    require_columns(a, [key, column], "after")
    b = b.select(_kb=b[key].cast("string"), _from=b[column].cast("string"), _inb=ibis.literal(1))
    a = a.select(_ka=a[key].cast("string"), _to=a[column].cast("string"), _ina=ibis.literal(1))
    j = b.outer_join(a, b._kb == a._ka)
    j = j.select(
        **{
            "from": ibis.ifelse(j._inb.isnull(), NEW, j._from.fill_null(NONE_CLASS)),
            "to": ibis.ifelse(j._ina.isnull(), GONE, j._to.fill_null(NONE_CLASS)),
        }
    )
    g = j.group_by(["from", "to"]).agg(customers=j["from"].count().cast("int64"))
    g = g.mutate(share_of_from=g.customers / g.customers.sum().over(group_by=g["from"]))
    return g.order_by(["from", "to"])


def to_wide(df: Any, order: list[str] | None = None, value: str = "customers"):
    """Pivot a (pandas) migration table to a from x to matrix for display.

    Rows and columns follow ``order`` (known classes first, the rest sorted);
    "(new)" is the last row and "(gone)" the last column; empty cells are 0.
    """
    import pandas as pd

    if df is None or len(df) == 0:
        return pd.DataFrame(dtype="int64")
    wide = df.pivot_table(index="from", columns="to", values=value, aggfunc="sum", fill_value=0)
    order = list(order or [])

    def arrange(labels: list[str], last: str) -> list[str]:
        known = [x for x in order if x in labels]
        rest = sorted(x for x in labels if x not in order and x not in (last, NONE_CLASS))
        tail = [x for x in (NONE_CLASS, last) if x in labels]
        return known + rest + tail

    rows = arrange(list(wide.index), NEW)
    cols = arrange(list(wide.columns), GONE)
    wide = wide.reindex(index=rows, columns=cols, fill_value=0)
    wide.index.name, wide.columns.name = "from", "to"
    return wide
