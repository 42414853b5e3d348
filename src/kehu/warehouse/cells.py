"""Turn source cells into canonical ids (text) and numbers, in the engine."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

#: Currency signs, thousands separators and unit words stripped before a number is read.
_NUMBER_NOISE = r"[,\s¥￥$£€元]|RMB|CNY"
#: What ``strip`` removes.
_WHITESPACE = (" ", "\t", "\n", "\r", "\v", "\f")


def _untidy(col: ir.StringValue) -> ir.BooleanValue:
    """Empty, or the first or last character could be whitespace.

    Every whitespace character sorts at or below ``" "``; testing the edges is
    much cheaper than trimming every value.
    """
    return (col == "") | (col.substr(0, 1) <= " ") | (col.right(1) <= " ")


def untidy_checks(t: ir.Table, names: Sequence[str]) -> dict[str, ir.BooleanValue]:
    """Per text column in ``names``: an aggregate, true when it has an empty or untrimmed value.

    Cheap stand-ins for a per-row trim test, without building substrings: the
    smallest value sorts below ``"!"`` exactly when some value is empty or starts
    with a character at or below ``" "``; trailing whitespace is a suffix test.
    Meant to ride along in an aggregate that reads the columns anyway.
    """
    out = {}
    for n in dict.fromkeys(names):
        if t[n].type().is_string():
            lead = (t[n].min() < "!").fill_null(False)
            trail = ibis.or_(*[t[n].endswith(w) for w in _WHITESPACE]).any().fill_null(False)
            out[n] = lead | trail
    return out


def to_text(col: ir.Value, *, tidy: bool = False) -> ir.StringValue:
    """An id or label as trimmed text; empty text becomes NULL.

    Integers are written without a decimal part, and so are whole floats (a
    CustomerID stored as 17850.0 becomes ``"17850"``); text keeps its leading zeros.
    ``tidy=True`` says the column is known to need no trimming
    (:func:`untidy_checks`).
    """
    typ = col.type()
    if typ.is_string():
        if tidy:
            return col
        return ibis.cases(
            (col == "", ibis.null("string")),
            (_untidy(col), col.strip().nullif("")),
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
