"""Every file kehu writes, and every CSV or Excel table it hands out, goes through here.

Two promises, kept in one place:

- **A file appears whole or not at all.**  Each writer writes beside the target and
  renames over it (:func:`atomic_path`, :func:`atomic_folder`): a reader sees the old
  file or the complete new one, never half of either, also after ``kill -9``.
- **A cell is data, never a formula.**  A customer name such as
  ``=HYPERLINK("http://x","y")`` comes from outside (an import, a form) and must not
  run when a colleague opens the file.  Excel files are written by xlsxwriter with
  :data:`XLSX_OPTIONS` (a text stays text: no formula, URL or number is made of it) and
  a text that *would* start a formula also gets Excel's quote prefix, so that editing
  the cell later does not turn it into one.  CSV has no cell types, so a text cell
  starting with one of :data:`FORMULA_TRIGGERS` (OWASP's CSV injection list) gets a
  leading single quote.  Numbers are not text: ``-5`` stays a number in both formats.

CSV files are UTF-8 with a byte-order mark, so that Excel reads Chinese.  Services
return data and bytes; the faces (CLI, API, pages), the report and the stores call
the file writers.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
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
BOM = "\ufeff"


# -- whole files ---------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    On error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the extension: some writers (xlsxwriter) check it
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_bytes(path: str | Path, data: bytes, *, mode: int = 0o666) -> Path:
    """``data`` as the file's content; ``mode`` (less the umask) from the file's creation on,
    so that a secret is never readable by others, not even for a moment."""
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    return Path(path)


def write_text(path: str | Path, text: str, *, mode: int = 0o666) -> Path:
    """``text`` as UTF-8."""
    return write_bytes(path, text.encode("utf-8"), mode=mode)


def write_json(path: str | Path, payload: Any) -> Path:
    """``payload`` as indented UTF-8 JSON; numpy scalars and dates become plain values."""
    return write_text(path, json.dumps(payload, ensure_ascii=False, indent=2, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_array(path: str | Path, array: Any) -> Path:
    """A numpy array as ``.npy``, without pickle (a file from elsewhere cannot run code)."""
    import numpy as np

    with atomic_path(path) as tmp:
        np.save(tmp, array, allow_pickle=False)
    return Path(path)


@contextlib.contextmanager
def atomic_zip(path: str | Path) -> Iterator[zipfile.ZipFile]:
    """A zip file open for writing; it replaces ``path`` when the block ends without error."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        yield zf


def write_parquet(path: str | Path, table: Any) -> Path:
    """A pandas frame, an Ibis table (computed in its engine) or an Arrow table as Parquet."""
    with atomic_path(path) as tmp:
        kind = type(table).__module__.split(".")[0]
        if kind == "pandas":
            table.to_parquet(tmp, index=False)
        elif kind == "ibis":
            table.to_parquet(tmp)
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
    return Path(path)


def write_csv(
    path: str | Path, df: pd.DataFrame, *, encoding: str = "utf-8-sig", **options: Any
) -> Path:
    """A pandas frame as CSV, its text cells and headers neutralised.

    ``encoding`` and pandas' ``to_csv`` ``options`` (``float_format``, ``date_format``) are
    for files made to look like another system's export, as the demo's GBK orders.
    """
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out[col] = s.map(csv_cell, na_action="ignore")
    out.columns = [csv_cell(str(c)) for c in out.columns]
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, encoding=encoding, **options)
    return Path(path)


def write_record_csv(path: str | Path, table: Any) -> Path:
    """An Arrow table as CSV with its values exactly as they were read.

    Only for a record of input kept verbatim (the rows an import set aside, whose value
    a reader must see unchanged to find it in their file).
    """
    import pyarrow.csv as pcsv

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(BOM.encode())
        pcsv.write_csv(table, fh)
    return Path(path)


def write_record_rows(path: str | Path, rows: Iterable[Sequence[Any]]) -> Path:
    """Rows (the header first) as CSV with their values exactly as they were: see above."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return write_text(path, BOM + buf.getvalue())


# -- cells -----------------------------------------------------------------------------


def is_formula_like(value: Any) -> bool:
    """Whether ``value`` is a text a spreadsheet would take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_cell(value: Any) -> Any:
    """``value`` safe for a CSV cell: formula-like text gets a leading ``'``."""
    return "'" + value if is_formula_like(value) else value


def _write_csv_rows(fh, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> None:
    w = csv.writer(fh)
    w.writerow([csv_cell(h) for h in header])
    w.writerows([csv_cell(v) for v in row] for row in rows)


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV file, UTF-8 with a BOM (so that Excel reads Chinese), every text cell neutralised."""
    buf = io.StringIO()
    _write_csv_rows(buf, header, rows)
    return (BOM + buf.getvalue()).encode("utf-8")


def workbook(target: str | Path | io.BytesIO) -> xlsxwriter.Workbook:
    """An xlsxwriter workbook with :data:`XLSX_OPTIONS` (in memory for a buffer).

    Give a file path only inside :func:`atomic_path`.
    """
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
