"""Compiling a parsed filter against a table's schema into an Ibis boolean expression."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir

from kehu.analytics.filters.columns import _canonical, _unknown_column
from kehu.analytics.filters.nodes import (
    Between,
    BinaryOp,
    Column,
    Compare,
    InList,
    IsNull,
    Literal,
    Logical,
    Match,
    Negate,
    Node,
    Not,
)
from kehu.analytics.filters.parser import parse
from kehu.exceptions import FilterSyntaxError

_KIND_NAMES = {
    "number": "a number",
    "string": "text",
    "boolean": "true/false",
    "date": "a date",
    "timestamp": "a timestamp",
    "null": "null",
    "other": "an unsupported type",
}


@dataclass(frozen=True)
class _Val:
    """A compiled operand: an Ibis expression, or a literal not yet typed."""

    expr: ir.Value | None
    kind: str
    pos: int
    literal: Any = None
    is_literal: bool = False
    what: str = ""  # how to name it in messages


def _kind_of(dtype: dtypes.DataType) -> str:
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_numeric():
        return "number"
    if dtype.is_string():
        return "string"
    if dtype.is_timestamp():
        return "timestamp"
    if dtype.is_date():
        return "date"
    if dtype.is_null():
        return "null"
    return "other"


def _literal_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


_DATE_RE = re.compile(
    r"^\s*(\d{4})(?:-|/|\.|年)(\d{1,2})(?:-|/|\.|月)(\d{1,2})日?"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*$"
)


def _parse_temporal(text: str, val: _Val, kind: str) -> dt.date | dt.datetime:
    m = _DATE_RE.match(val.literal)
    expected = "YYYY-MM-DD" if kind == "date" else "YYYY-MM-DD [HH:MM[:SS]]"
    bad = FilterSyntaxError(
        f"{val.literal!r} is not a valid {kind} (expected {expected})", text, val.pos
    )
    if m is None:
        raise bad
    y, mo, d, hh, mi, ss, frac = m.groups()
    if hh is not None and kind == "date":
        raise FilterSyntaxError(
            f"{val.literal!r} has a time, but it is compared with a date column", text, val.pos
        )
    try:
        day = dt.date(int(y), int(mo), int(d))
        if kind == "date":
            return day
        micro = int((frac or "0").ljust(6, "0"))
        return dt.datetime(
            day.year, day.month, day.day, int(hh or 0), int(mi or 0), int(ss or 0), micro
        )
    except ValueError:  # out-of-range month, day, hour...
        raise bad from None


class _Compiler:
    def __init__(self, text: str, table: ir.Table):
        self.text = text
        self.table = table
        self.columns = list(table.columns)

    def error(self, message: str, pos: int) -> FilterSyntaxError:
        return FilterSyntaxError(message, self.text, pos)

    # predicates: always non-null booleans (see the module docstring)
    def predicate(self, node: Node) -> ir.BooleanValue:
        if isinstance(node, Logical):
            parts = [self.predicate(p) for p in node.operands]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if node.op == "and" else (out | p)
            return out
        if isinstance(node, Not):
            return ~self.predicate(node.operand)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, Between):
            return self.between(node)
        if isinstance(node, IsNull):
            v = self.value(node.operand)
            if v.is_literal:
                return ibis.literal((v.literal is None) != node.negated)
            return v.expr.notnull() if node.negated else v.expr.isnull()
        if isinstance(node, Match):
            return self.match(node)
        v = self.value(node)
        if v.kind == "null":
            return ibis.literal(False)
        if v.kind != "boolean":
            raise self.error(
                f"{v.what} is {_KIND_NAMES[v.kind]}, not a condition; "
                "compare it with something (e.g. '= ...', '> ...')",
                v.pos,
            )
        expr = v.expr if v.expr is not None else ibis.literal(v.literal)
        return expr.fill_null(False)

    def compare(self, node: Compare) -> ir.BooleanValue:
        left, right = self.value(node.left), self.value(node.right)
        for side in (left, right):
            if side.kind == "null":
                suggestion = "is not null" if node.op == "!=" else "is null"
                raise self.error(
                    f"comparing with null is never true; write '{suggestion}' instead", side.pos
                )
        lx, rx = self.unify(left, right, right.pos)
        if left.kind == "boolean" and node.op not in ("=", "!="):
            raise self.error(f"'{node.op}' cannot order true/false values", node.op_pos)
        if node.op == "!=":
            return ~(lx == rx).fill_null(False)
        ops = {
            "=": lambda a, b: a == b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        return ops[node.op](lx, rx).fill_null(False)

    def in_list(self, node: InList) -> ir.BooleanValue:
        operand = self.value(node.operand)
        items = [self.value(item) for item in node.items]
        non_null = [it for it in items if it.kind != "null"]
        if not non_null:
            raise self.error("the list has only nulls; use 'is null' instead", node.items[0].pos)
        exprs = [self.unify(operand, it, it.pos)[1] for it in non_null]
        lx = self.unify(operand, non_null[0], non_null[0].pos)[0]
        # a null in the list never matches (two-valued semantics); it is simply dropped
        positive = lx.isin(exprs).fill_null(False)
        return ~positive if node.negated else positive

    def between(self, node: Between) -> ir.BooleanValue:
        operand, low, high = (self.value(n) for n in (node.operand, node.low, node.high))
        for side in (low, high):
            if side.kind == "null":
                raise self.error("'between' needs two non-null bounds", side.pos)
        lx, lo = self.unify(operand, low, low.pos)
        _, hi = self.unify(operand, high, high.pos)
        if operand.kind == "boolean":
            raise self.error("'between' cannot order true/false values", node.pos)
        positive = lx.between(lo, hi).fill_null(False)
        return ~positive if node.negated else positive

    def match(self, node: Match) -> ir.BooleanValue:
        operand, pattern = self.value(node.operand), self.value(node.pattern)
        for side in (operand, pattern):
            if side.kind not in ("string", "null"):
                raise self.error(
                    f"'{node.kind}' works on text, but {side.what} is {_KIND_NAMES[side.kind]}",
                    side.pos,
                )
        if pattern.kind == "null" or operand.kind == "null":
            return ibis.literal(node.negated)
        ox, px = self.unify(operand, pattern, pattern.pos)
        positive = ox.contains(px) if node.kind == "contains" else ox.like(px)
        positive = positive.fill_null(False)
        return ~positive if node.negated else positive

    # values
    def value(self, node: Node) -> _Val:
        if isinstance(node, Literal):
            kind = _literal_kind(node.value)
            return _Val(None, kind, node.pos, node.value, True, repr(node.value))
        if isinstance(node, Column):
            name = _canonical(node.name, self.columns)
            if name is None:
                raise _unknown_column(self.text, node, self.columns)
            col = self.table[name]
            what = f"column {name!r}" if name == node.name else f"{node.name!r} ({name})"
            return _Val(col, _kind_of(col.type()), node.pos, what=what)
        if isinstance(node, Negate):
            v = self.value(node.operand)
            self.need_number(v, "'-'")
            return _Val(-self.materialize(v), "number", node.pos, what="the negated value")
        if isinstance(node, BinaryOp):
            left, right = self.value(node.left), self.value(node.right)
            self.need_number(left, f"'{node.op}'")
            self.need_number(right, f"'{node.op}'")
            lx, rx = self.materialize(left), self.materialize(right)
            if node.op == "+":
                out = lx + rx
            elif node.op == "-":
                out = lx - rx
            elif node.op == "*":
                out = lx * rx
            else:  # division by zero gives null (so false), the same on every engine
                out = lx / rx.nullif(0)
            return _Val(out, "number", node.pos, what="the arithmetic result")
        # a condition used as a value, e.g. (a = 1) = true
        return _Val(self.predicate(node), "boolean", node.pos, what="the condition")

    def need_number(self, v: _Val, op: str) -> None:
        if v.kind != "number":
            raise self.error(f"{op} needs numbers, but {v.what} is {_KIND_NAMES[v.kind]}", v.pos)

    @staticmethod
    def materialize(v: _Val) -> ir.Value:
        return v.expr if v.expr is not None else ibis.literal(v.literal)

    def unify(self, a: _Val, b: _Val, pos: int) -> tuple[ir.Value, ir.Value]:
        """Both operands as Ibis values of compatible types, or a type error at ``pos``."""
        if "other" in (a.kind, b.kind):
            bad = a if a.kind == "other" else b
            raise self.error(f"{bad.what} has a type filters cannot compare", bad.pos)
        temporal = ("date", "timestamp")
        if a.kind in temporal or b.kind in temporal:
            col, lit = (a, b) if a.kind in temporal else (b, a)
            if lit.is_literal and lit.kind == "string":
                value = _parse_temporal(self.text, lit, col.kind)
                lit_expr = ibis.literal(value, type=col.expr.type())
                return (col.expr, lit_expr) if col is a else (lit_expr, col.expr)
            if lit.kind in temporal:
                ax, bx = a.expr, b.expr
                if a.kind != b.kind:  # a date against a timestamp: compare as timestamps
                    ax, bx = ax.cast("timestamp"), bx.cast("timestamp")
                return ax, bx
            raise self.error(
                f"type mismatch: {col.what} is {_KIND_NAMES[col.kind]} but {lit.what} is "
                f"{_KIND_NAMES[lit.kind]} (write dates as 'YYYY-MM-DD')",
                pos,
            )
        if a.kind != b.kind:
            raise self.error(
                f"type mismatch: {a.what} is {_KIND_NAMES[a.kind]} but {b.what} is "
                f"{_KIND_NAMES[b.kind]}",
                pos,
            )
        if a.is_literal and not b.is_literal:
            return ibis.literal(a.literal, type=_literal_type(a)), b.expr
        if b.is_literal and not a.is_literal:
            return a.expr, ibis.literal(b.literal, type=_literal_type(b))
        return self.materialize(a), self.materialize(b)


def _literal_type(lit: _Val) -> dtypes.DataType:
    """Explicit type of a literal, so that Ibis never guesses a narrower one."""
    if lit.kind == "string":
        return dtypes.string
    if lit.kind == "boolean":
        return dtypes.boolean
    return dtypes.float64 if isinstance(lit.literal, float) else dtypes.int64


def compile_filter(text: str, table: ir.Table) -> ir.BooleanValue:
    """Compile a filter against ``table``'s schema into an Ibis boolean expression.

    The result is never null (see the module docstring for the semantics).

    Raises
    ------
    FilterSyntaxError
        Syntax errors, unknown columns and type mismatches, with their position.
    """
    return _Compiler(text, table).predicate(parse(text))


def apply_filter(table: ir.Table, text: str) -> ir.Table:
    """Rows of ``table`` for which the filter holds.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"orders": [1, 5], "region": ["华东", "华东"]})
    >>> apply_filter(t, "frequency >= 4 and 区域 = '华东'").to_pandas().orders.tolist()
    [5]
    """
    return table.filter(compile_filter(text, table))
