"""Column names in a filter: natural aliases, and the columns a filter reads."""

from __future__ import annotations

import difflib

import ibis.expr.types as ir

from kehu.analytics.filters.nodes import Column, _walk
from kehu.analytics.filters.parser import parse
from kehu.exceptions import FilterSyntaxError

#: Natural names business users may write, mapped to canonical column names.
#: Keys are matched case-insensitively; the single place to add more.
COLUMN_ALIASES: dict[str, str] = {
    "frequency": "orders",
    "recency": "recency_days",
    "monetary": "monetary",
    "spend": "monetary",
    "aov": "avg_order_value",
    "频次": "orders",
    "购买次数": "orders",
    "最近购买天数": "recency_days",
    "消费金额": "monetary",
    "客单价": "avg_order_value",
    "区域": "region",
    "地区": "region",
    "省份": "province",
    "城市": "city",
    "渠道": "channel",
    "首次购买日期": "first_purchase",
    "最近购买日期": "last_purchase",
    "客户名称": "name",
    "性别": "gender",
    "年龄段": "age_band",
}


def _canonical(name: str, available: list[str] | None) -> str | None:
    """The column a written name refers to, or None when ``available`` lacks it."""
    if available is not None and name in available:
        return name  # a real column of that name wins over an alias
    target = COLUMN_ALIASES.get(name.lower(), name)
    if available is None or target in available:
        return target
    return None


def columns_used(text: str, table: ir.Table | None = None) -> set[str]:
    """Canonical names of the columns a filter reads (aliases resolved).

    Without ``table`` the alias table alone decides; with it, a column that
    exists under the written name wins (as in :func:`compile_filter`) and an
    unknown column raises :class:`FilterSyntaxError`.
    """
    available = list(table.columns) if table is not None else None
    out: set[str] = set()
    for node in _walk(parse(text)):
        if isinstance(node, Column):
            name = _canonical(node.name, available)
            if name is None:
                raise _unknown_column(text, node, available or [])
            out.add(name)
    return out


def _unknown_column(text: str, node: Column, available: list[str]) -> FilterSyntaxError:
    names = available + [a for a, c in COLUMN_ALIASES.items() if c in available]
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(node.name.lower(), list(lowered), n=1, cutoff=0.6)
    hint = f"; did you mean {lowered[close[0]]!r}?" if close else ""
    listing = ", ".join(available) or "(none)"
    return FilterSyntaxError(
        f"unknown column {node.name!r}{hint} Available columns: {listing}", text, node.pos
    )
