"""Turn source cells into canonical ids (text) and numbers, in the engine."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

#: Currency signs, thousands separators and unit words stripped before a number is read.
_NUMBER_NOISE = r"[,\s¥￥$£€元]|RMB|CNY"


def to_text(col: ir.Value) -> ir.StringValue:
    """An id or label as trimmed text; empty text becomes NULL.

    Integers are written without a decimal part, and so are whole floats (a
    CustomerID stored as 17850.0 becomes ``"17850"``); text keeps its leading zeros.
    """
    typ = col.type()
    if typ.is_string():
        # Trimming costs more than the rest of the import's parsing, and ids
        # rarely need it: trim only where the first or last character could be
        # whitespace (every whitespace character sorts at or below " ").
        edge = (col.substr(0, 1) <= " ") | (col.right(1) <= " ")
        return ibis.cases(
            (col == "", ibis.null("string")),
            (edge, col.strip().nullif("")),
            else_=col,
        )
    if typ.is_integer():
        return col.cast("string")
    if typ.is_floating() or typ.is_decimal():
        whole = col == col.floor()
        return whole.ifelse(col.cast("int64").cast("string"), col.cast("string"))
    return col.cast("string")


def to_number(col: ir.Value) -> ir.FloatingValue:
    """A quantity, price or amount as float64; NULL where the text is not a number."""
    typ = col.type()
    if typ.is_numeric():
        return col.cast("float64")
    if typ.is_boolean():
        return col.cast("int8").cast("float64")
    s = col.cast("string").re_replace(_NUMBER_NOISE, "")
    return s.try_cast("float64")


def has_text(col: ir.Value) -> ir.BooleanValue:
    """The cell is not empty (so a NULL parse of it is an error, not a blank)."""
    if col.type().is_string():
        return col.notnull() & (col.strip() != "")
    return col.notnull()
