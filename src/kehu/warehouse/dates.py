"""Parse dates and times in the engine: a coalesce of try-parses, never row by row.

Accepted text forms (a time part is optional everywhere)::

    2024-01-02  2024-01-02 13:05  2024-01-02 13:05:09.5  2024-01-02T13:05:09
    2024/1/2    2024/1/2 8:05:09  2024.1.2  20240102
    2024年1月2日  2024年1月2日 8:05  2024年1月2日8时5分
    45292       (an Excel serial day number: 45292 = 2024-01-01; fractions are times)
    12/31/2024  (month first, as US exports such as the original Online Retail CSV)

Numeric columns are read as Excel serials (or ``yyyymmdd`` when they have 8 digits);
date and timestamp columns are taken as they are.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

FORMATS = (
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M:%S",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H时%M分%S秒",
    "%Y年%m月%d日%H时%M分%S秒",
    "%Y年%m月%d日 %H时%M分",
    "%Y年%m月%d日%H时%M分",
    "%Y年%m月%d日",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)

#: Excel serials accepted: 1954-10-04 .. 2119-01-30 (anything else is not a date
#: a sales export would hold, and is more likely an id or an amount).
SERIAL_MIN, SERIAL_MAX = 20_000, 80_000
_EXCEL_EPOCH_OFFSET = 25_569  # serial of 1970-01-01 (Excel's 1900 leap-year bug included)


@ibis.udf.scalar.builtin(name="try_strptime", signature=(("string", "array<string>"), "timestamp"))
def _try_strptime(text, formats):
    """DuckDB ``try_strptime(text, [formats])``: the first format that parses, else NULL."""


def excel_serial(value: ir.NumericValue) -> ir.TimestampValue:
    """Excel serial day number to timestamp; NULL outside the accepted range."""
    ok = (value >= SERIAL_MIN) & (value <= SERIAL_MAX)
    millis = ((value - _EXCEL_EPOCH_OFFSET) * 86_400_000).round().cast("int64")
    return ok.ifelse(millis.as_timestamp("ms").cast("timestamp"), ibis.null("timestamp"))


def parse_text(text: ir.StringValue) -> ir.TimestampValue:
    """Parse a text column with :data:`FORMATS`, then as an Excel serial."""
    s = text.strip()
    serial = s.re_search(r"^\d{5}(\.\d+)?$").ifelse(
        excel_serial(s.try_cast("float64")), ibis.null("timestamp")
    )
    return ibis.coalesce(_try_strptime(s, list(FORMATS)), serial)


def parse_timestamp(col: ir.Value) -> ir.TimestampValue:
    """Any column as a (timezone-free) timestamp, by its type; NULL where unparseable."""
    typ = col.type()
    if typ.is_timestamp():
        return col.cast("timestamp")
    if typ.is_date():
        return col.cast("timestamp")
    if typ.is_string():
        return parse_text(col)
    if typ.is_numeric():
        x = col.cast("float64")
        ymd = ((x >= 19_000_101) & (x <= 21_001_231)).ifelse(
            _try_strptime(x.cast("int64").cast("string"), ["%Y%m%d"]), ibis.null("timestamp")
        )
        return ibis.coalesce(excel_serial(x), ymd)
    return parse_text(col.cast("string"))
