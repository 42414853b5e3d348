"""Customer and product attributes carried by order lines, merged with those of master files."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from kehu.warehouse.headers import (
    ORDER_CUSTOMER_ATTRS,
)
from kehu.warehouse.outputs import _kept
from kehu.warehouse.staging import _Staged

#: Order-line attribute -> customer/product field it fills.
CUSTOMER_FROM_ORDERS = {
    **{a: a for a in ORDER_CUSTOMER_ATTRS},
    "customer_name": "name",
    "channel": "channel",
}


PRODUCT_FROM_ORDERS = {"product_name": "name", "category": "category", "brand": "brand"}


def _most_frequent(kept: ir.Table, key: str, attr: str, name: str) -> ir.Table:
    """Per ``key``, its most frequent non-null ``attr`` (ties: the smallest value)."""
    t = kept.filter(kept[key].notnull(), kept[attr].notnull())
    c = t.group_by([key, attr]).aggregate(__n=t.count())
    w = ibis.window(group_by=c[key], order_by=[ibis.desc(c.__n), c[attr]])
    c = c.mutate(__r=ibis.row_number().over(w))
    return c.filter(c.__r == 0).select(c[key], **{name: c[attr]})


def _derived(st: _Staged, key: str, attrs: dict[str, str]) -> ir.Table | None:
    """Customer or product attributes carried by kept order lines."""
    kept = _kept(st)
    present = {
        a: f for a, f in attrs.items() if a in kept.columns and any(a in m for m in st.matches)
    }
    if not present:
        return None
    out = kept.filter(kept[key].notnull()).select(key).distinct()
    for attr, name in present.items():
        mf = _most_frequent(kept, key, attr, name)
        out = out.left_join(mf, key).drop(f"{key}_right")
    return out


def _merge(file_t: ir.Table | None, derived: ir.Table | None, key: str, order) -> ir.Table | None:
    """File values first, order-line values where the file has none; ids from either."""
    if file_t is None or derived is None:
        return file_t if file_t is not None else derived
    d = derived.rename({f"{c}__d": c for c in derived.columns})
    j = file_t.outer_join(d, file_t[key] == d[f"{key}__d"])
    cols = {}
    for c in order:
        a = file_t[c] if c in file_t.columns else None
        b = j[f"{c}__d"] if f"{c}__d" in j.columns else None
        if a is not None and b is not None:
            cols[c] = ibis.coalesce(j[c], b)
        elif a is not None:
            cols[c] = j[c]
        elif b is not None:
            cols[c] = b
    return j.select(**cols)
