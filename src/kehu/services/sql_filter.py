"""The safe filter language (:mod:`kehu.analytics.filters`) compiled to SQLAlchemy.

The text is parsed by the analytics' own parser into its AST; this module only
walks that AST and builds a SQLAlchemy boolean over named, typed columns, so
the store's customer lists accept exactly the filters custom segments do, with
the same two-valued null semantics (a predicate involving null is false and
each negative form is its exact complement) and the same type checks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, not_, or_, true

from kehu.analytics import filters as f
from kehu.exceptions import FilterSyntaxError

#: a typed column: the SQL expression and its kind ("string", "number", "date", "boolean")
Columns = Mapping[str, tuple[ColumnElement[Any], str]]

_DATE = re.compile(r"^\s*(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?\s*$")


def compile_sql_filter(text: str, columns: Columns) -> ColumnElement[bool]:
    """A SQLAlchemy boolean for the filter ``text`` over ``columns``.

    Raises :class:`FilterSyntaxError` (with the position) for bad syntax, an
    unknown column, or a comparison of mismatched types.
    """
    return _Compiler(text, columns).predicate(f.parse(text))


class _Compiler:
    def __init__(self, text: str, columns: Columns):
        self.text = text
        self.columns = columns

    def error(self, message: str, node: f.Node) -> FilterSyntaxError:
        return FilterSyntaxError(message, self.text, node.pos)

    # --- values: (expression or None for a literal, kind, literal value) ----------------------
    def value(self, node: f.Node) -> tuple[Any, str, Any]:
        if isinstance(node, f.Literal):
            v = node.value
            kind = (
                "null"
                if v is None
                else "boolean"
                if isinstance(v, bool)
                else "number"
                if isinstance(v, int | float)
                else "string"
            )
            return None, kind, v
        if isinstance(node, f.Column):
            name = node.name if node.name in self.columns else None
            name = name or f.COLUMN_ALIASES.get(node.name.lower())
            if name not in self.columns:
                names = ", ".join(sorted(self.columns))
                raise self.error(f"unknown column {node.name!r}. Available columns: {names}", node)
            expr, kind = self.columns[name]
            return expr, kind, None
        if isinstance(node, f.Negate):
            expr, kind, lit = self.value(node.operand)
            if kind != "number":
                raise self.error("minus needs a number", node)
            return (None, kind, -lit) if expr is None else (-expr, kind, None)
        if isinstance(node, f.BinaryOp):
            left, right = self.value(node.left), self.value(node.right)
            if left[1] != "number" or right[1] != "number":
                raise self.error(f"{node.op!r} needs numbers on both sides", node)
            a, b = self.sql(left), self.sql(right)
            if node.op == "/":
                b = func.nullif(b, 0)  # division by zero gives null, as in the analytics
                a = a * 1.0
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[node.op], "number", None
        raise self.error("expected a value", node)

    def sql(self, val: tuple[Any, str, Any]) -> Any:
        expr, _kind, lit = val
        return literal(lit) if expr is None else expr

    def coerce(self, val, other_kind: str, node: f.Node):
        """A string literal compared with a date column becomes a date."""
        expr, kind, lit = val
        if expr is None and kind == "string" and other_kind == "date":
            m = _DATE.match(lit)
            try:
                if m is None:
                    raise ValueError
                return None, "date", dt.date(*map(int, m.groups()))
            except ValueError:
                raise self.error(
                    f"{lit!r} is not a valid date (expected YYYY-MM-DD)", node
                ) from None
        return val

    def pair(self, a_node: f.Node, b_node: f.Node):
        a, b = self.value(a_node), self.value(b_node)
        if "null" in (a[1], b[1]):
            raise self.error("compare with null using 'is null' or 'is not null'", b_node)
        a, b = self.coerce(a, b[1], a_node), self.coerce(b, a[1], b_node)
        if a[1] != b[1]:
            raise self.error(f"cannot compare {_KIND[a[1]]} with {_KIND[b[1]]}", b_node)
        return self.sql(a), self.sql(b), a[1]

    # --- predicates (never null) ---------------------------------------------------------------
    def predicate(self, node: f.Node) -> ColumnElement[bool]:
        if isinstance(node, f.Logical):
            parts = [self.predicate(o) for o in node.operands]
            return and_(*parts) if node.op == "and" else or_(*parts)
        if isinstance(node, f.Not):
            return not_(self.predicate(node.operand))
        if isinstance(node, f.Compare):
            a, b, _ = self.pair(node.left, node.right)
            if node.op == "!=":
                return not_(_sure(a == b))
            op = {"=": a == b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]
            return _sure(op)
        if isinstance(node, f.InList):
            target = self.value(node.operand)
            vals = []
            for item in node.items:
                got = self.coerce(self.value(item), target[1], item)
                if got[1] != target[1]:
                    raise self.error(
                        f"cannot compare {_KIND[target[1]]} with {_KIND[got[1]]}", item
                    )
                vals.append(got[2])
            p = _sure(self.sql(target).in_(vals))
            return not_(p) if node.negated else p
        if isinstance(node, f.Between):
            a, lo, kind = self.pair(node.operand, node.low)
            _, hi, _ = self.pair(node.operand, node.high)
            p = _sure(a.between(lo, hi))
            return not_(p) if node.negated else p
        if isinstance(node, f.IsNull):
            expr = self.sql(self.value(node.operand))
            return expr.is_not(None) if node.negated else expr.is_(None)
        if isinstance(node, f.Match):
            a, b, kind = self.pair(node.operand, node.pattern)
            if kind != "string":
                raise self.error(f"{node.kind} needs text", node)
            if node.kind == "contains":
                pat = self.value(node.pattern)
                # a literal is escaped so that % and _ in it are plain characters
                p = _sure(a.contains(pat[2], autoescape=True) if pat[0] is None else a.contains(b))
            else:
                p = _sure(a.like(b))
            return not_(p) if node.negated else p
        if isinstance(node, f.Literal) and isinstance(node.value, bool):
            return true() if node.value else false()
        expr, kind, _ = self.value(node)
        if kind == "boolean" and expr is not None:
            return _sure(expr)
        raise self.error("expected a condition such as  orders >= 4", node)


_KIND = {
    "number": "a number",
    "string": "text",
    "date": "a date",
    "boolean": "true/false",
    "null": "null",
}


def _sure(p: ColumnElement[bool]) -> ColumnElement[bool]:
    """Two-valued logic: null counts as false."""
    return func.coalesce(p, false())
