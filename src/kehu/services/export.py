"""The one writer of every CSV and Excel file kehu hands out: a cell is data, never a formula.

A customer name such as ``=HYPERLINK("http://x","y")`` comes from outside (an
import, a form) and must not run when a colleague opens the export.  So:

- Excel files are written by xlsxwriter with :data:`XLSX_OPTIONS`: a text is
  stored as text whatever it looks like (no formulas, URLs or numbers made of
  it), and a text that *would* start a formula also gets Excel's quote prefix,
  so that editing the cell later does not turn it into one.
- CSV has no cell types, so a text cell starting with one of
  :data:`FORMULA_TRIGGERS` (OWASP's CSV injection list) is written with a
  leading single quote.  Numbers are not text: ``-5`` stays a number in both
  formats; only strings are neutralised.

Customers, campaigns and the analyst's workbook (:mod:`kehu.report.excel`) all
write through here, with the same options.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kehu.exceptions import SchemaError

if TYPE_CHECKING:
    import pandas as pd
    import xlsxwriter
    from xlsxwriter.format import Format
    from xlsxwriter.worksheet import Worksheet

CSV_MEDIA = "text/csv; charset=utf-8"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"csv": CSV_MEDIA, "xlsx": XLSX_MEDIA}
#: a text cell is written as text: never a formula, a link or a number
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
#: first characters that make a spreadsheet read a CSV cell as a formula (OWASP)
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    """Whether ``value`` is a text a spreadsheet would take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_cell(value: Any) -> Any:
    """``value`` safe for a CSV cell: formula-like text gets a leading ``'``."""
    return "'" + value if is_formula_like(value) else value


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV file, UTF-8 with a BOM (so that Excel reads Chinese), every text cell neutralised."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([csv_cell(h) for h in header])
    w.writerows([csv_cell(v) for v in row] for row in rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def workbook(target: str | Path | io.BytesIO) -> xlsxwriter.Workbook:
    """An xlsxwriter workbook with :data:`XLSX_OPTIONS` (in memory for a buffer)."""
    import xlsxwriter

    options: dict[str, Any] = dict(XLSX_OPTIONS)
    if isinstance(target, io.BytesIO):
        options["in_memory"] = True
    return xlsxwriter.Workbook(str(target) if isinstance(target, Path) else target, options)


def quoted_format(book: xlsxwriter.Workbook, props: dict[str, Any] | None = None) -> Format:
    """A cell format with Excel's quote prefix (text stays text when edited), plus ``props``."""
    return book.add_format({**(props or {}), "quote_prefix": True})


def write_row(
    sheet: Worksheet,
    row: int,
    values: Sequence[Any],
    quoted: Format,
    fmt: Format | None = None,
) -> None:
    """Write ``values`` from column 0 of ``row``; formula-like texts with ``quoted``."""
    for col, value in enumerate(values):
        sheet.write(row, col, value, quoted if is_formula_like(value) else fmt)


def write_column(
    sheet: Worksheet,
    row: int,
    col: int,
    values: Sequence[Any],
    quoted: Format,
    fmt: Format | None = None,
) -> None:
    """Write ``values`` down column ``col`` from ``row``; formula-like texts with ``quoted``."""
    sheet.write_column(row, col, values, fmt)
    for i, value in enumerate(values):  # rare: rewrite those few cells with the prefix
        if is_formula_like(value):
            sheet.write_string(row + i, col, value, quoted)


def xlsx_bytes(sheet_name: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """A one-sheet workbook: a header row, then ``rows``."""
    out = io.BytesIO()
    book = workbook(out)
    quoted = quoted_format(book)
    sheet = book.add_worksheet(sheet_name)
    write_row(sheet, 0, list(header), quoted)
    for i, row in enumerate(rows, start=1):
        write_row(sheet, i, list(row), quoted)
    book.close()
    return out.getvalue()


def export_table(
    format: str, header: Sequence[Any], rows: Sequence[Sequence[Any]], *, sheet: str
) -> tuple[bytes, str]:
    """``(bytes, media type)`` of a table as ``"csv"`` or ``"xlsx"`` (sheet name ``sheet``)."""
    if format == "csv":
        return csv_bytes(header, rows), CSV_MEDIA
    if format == "xlsx":
        return xlsx_bytes(sheet, header, rows), XLSX_MEDIA
    raise SchemaError(f"export format must be csv or xlsx, got {format!r}")


def frame_to_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a pandas frame as CSV (UTF-8 with BOM), its text cells and headers neutralised."""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out[col] = s.map(csv_cell, na_action="ignore")
    out.columns = [csv_cell(str(c)) for c in out.columns]
    out.to_csv(path, index=False, encoding="utf-8-sig")
