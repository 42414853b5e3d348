"""Read order, customer and product files into DuckDB as raw tables.

Every raw table keeps the source's own headers and adds :data:`ROW_COLUMN`, the
row number a person sees when opening the file in Excel: the header is row 1,
so the first data row is row 2.  (For Parquet, which has no header row, the same
convention is kept: row ``n`` is the ``n - 1``-th record.)

* CSV (``.csv``, ``.tsv``, ``.txt``): UTF-8 with or without BOM, or GBK/GB18030
  (detected on the first megabyte).  DuckDB's CSV reader cannot decode GBK
  without a downloadable extension, so CSV is parsed by Arrow's streaming
  reader, which transcodes block by block; every column is read as text (ids
  keep leading zeros) and batches stream into a DuckDB temporary table.  Blank
  lines are skipped and not counted.
* Excel (``.xlsx``, ``.xlsm``): read with openpyxl in read-only mode, cells turned
  into text (dates as ISO text, whole numbers without ``.0``) in batches.
* Parquet: read in place by DuckDB with native types (no copy).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import glob
import io
import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from kehu.exceptions import DataImportError
from kehu.warehouse.tables import run

ROW_COLUMN = "__kehu_row"
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES

_SAMPLE_BYTES = 1 << 20
_BATCH_ROWS = 65_536

PathArg = str | Path | Sequence[str | Path]


@dataclass
class RawSource:
    """One file loaded (or viewed) in DuckDB under ``name`` with its own headers."""

    path: Path
    kind: str  # "csv", "excel" or "parquet"
    name: str  # DuckDB temporary table or view
    columns: list[str]  # source headers, without ROW_COLUMN
    encoding: str | None = None


def expand_paths(paths: PathArg) -> list[Path]:
    """Files named by ``paths``: files, folders (their supported files) or globs.

    Raises :class:`DataImportError` for a missing path, an unsupported extension,
    or a folder or glob with no supported file.
    """
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not items:
        raise DataImportError("no input file given")
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and _supported(f))
            if not found:
                raise DataImportError(
                    f"{p}: folder has no CSV, Excel or Parquet file ({', '.join(SUPPORTED)})"
                )
            out.extend(found)
        elif p.is_file():
            if not _supported(p):
                raise DataImportError(
                    f"{p}: unsupported file type {p.suffix or '(none)'}; "
                    f"supported: {', '.join(SUPPORTED)}"
                )
            out.append(p)
        elif glob.has_magic(str(item)):
            found = sorted(Path(f) for f in glob.glob(str(item)) if Path(f).is_file())
            found = [f for f in found if _supported(f)]
            if not found:
                raise DataImportError(f"{item}: no CSV, Excel or Parquet file matches")
            out.extend(found)
        else:
            raise DataImportError(f"{p}: file not found")
    seen: set[Path] = set()
    return [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]


def _supported(p: Path) -> bool:
    return p.suffix.lower() in SUPPORTED


def read_raw(con: Any, path: Path, *, encoding: str | None = None, sheet: Any = None) -> RawSource:
    """Load ``path`` into ``con`` (an Ibis DuckDB backend) as a raw temporary table/view."""
    suffix = path.suffix.lower()
    name = f"__kehu_raw_{uuid.uuid4().hex[:12]}"
    if path.stat().st_size == 0:
        raise DataImportError(f"{path}: file is empty")
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(con, path, name)
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(con, path, name, sheet)
    return _read_csv(con, path, name, encoding)


def drop_raw(con: Any, source: RawSource) -> None:
    """Drop the temporary table or view of ``source``."""
    what = "VIEW" if source.kind == "parquet" else "TABLE"
    run(con, f'DROP {what} IF EXISTS "{source.name}"')


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _read_parquet(con: Any, path: Path, name: str) -> RawSource:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataImportError(f"{path}: not a readable Parquet file ({exc})") from None
    if meta.num_rows == 0:
        raise DataImportError(f"{path}: file has no data rows")
    # A view, not a copy: the file is scanned by each query that needs it.
    run(
        con,
        f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * EXCLUDE (file_row_number), '
        f'file_row_number + 2 AS "{ROW_COLUMN}" '
        f"FROM read_parquet({_sql_str(str(path.resolve()))}, file_row_number = true)",
    )
    return RawSource(path, "parquet", name, list(schema.names))


def detect_encoding(path: Path) -> str:
    """``"utf-8"`` (with or without BOM), ``"utf-16"`` (with BOM) or ``"gb18030"``.

    Decided on the first megabyte: text that is valid UTF-8 there is read as
    UTF-8, anything else as GB18030 (a superset of GBK and GB2312).
    """
    with open(path, "rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _sample_text(path: Path, encoding: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head).lstrip("\ufeff")


def _sniff_delimiter(text: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unique(names: list[str]) -> list[str]:
    out: list[str] = []
    for i, raw in enumerate(names):
        n = (raw or "").strip() or f"column{i + 1}"
        base, k = n, 2
        while n in out:
            n, k = f"{base}_{k}", k + 1
        out.append(n)
    return out


def _read_csv(con: Any, path: Path, name: str, encoding: str | None) -> RawSource:
    import pyarrow.csv as pcsv

    enc = encoding or detect_encoding(path)
    try:
        codecs.lookup(enc)
    except LookupError:
        raise DataImportError(f"{path}: unknown encoding {enc!r}") from None
    text = _sample_text(path, enc)
    if not text.strip():
        raise DataImportError(f"{path}: file is empty")
    delimiter = _sniff_delimiter(text, path.suffix.lower())
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    columns = _unique(header)
    # Arrow decodes UTF-8 natively (skipping a BOM) and any other codec by
    # transcoding block by block, so a GBK file is never held in memory whole.
    arrow_enc = "utf8" if codecs.lookup(enc).name == "utf-8" else enc
    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(
                column_names=columns, skip_rows=1, encoding=arrow_enc, block_size=1 << 22
            ),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        _load_batches(con, name, columns, reader)
    except pa.ArrowInvalid as exc:
        raise DataImportError(f"{path}: cannot read as CSV ({enc}): {exc}") from None
    except pa.ArrowException as exc:
        raise DataImportError(f"{path}: cannot read as CSV ({enc}): {exc}") from None
    _require_rows(con, path, name)
    return RawSource(path, "csv", name, columns, encoding=enc)


def _load_batches(con: Any, name: str, columns: list[str], batches: Any) -> None:
    """Stream string batches into a DuckDB temp table, numbering rows from 2."""
    schema = pa.schema([pa.field(c, pa.string()) for c in columns] + [(ROW_COLUMN, pa.int64())])

    def numbered() -> Iterator[pa.RecordBatch]:
        start = 2
        for batch in batches:
            n = batch.num_rows
            rows = pa.array(range(start, start + n), pa.int64())
            yield pa.RecordBatch.from_arrays([*batch.columns, rows], schema=schema)
            start += n

    reader = pa.RecordBatchReader.from_batches(schema, numbered())
    view = f"{name}_src"
    con.con.register(view, reader)
    try:
        run(con, f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM "{view}"')
    finally:
        con.con.unregister(view)


def _require_rows(con: Any, path: Path, name: str) -> None:
    ((n,),) = run(con, f'SELECT count(*) FROM "{name}"')
    if n == 0:
        run(con, f'DROP TABLE IF EXISTS "{name}"')
        raise DataImportError(f"{path}: file has no data rows")


def _cell_text(v: Any) -> str | None:
    """An Excel cell as text: whole numbers without ``.0``, dates in ISO form."""
    if v is None:
        return None
    if isinstance(v, str):
        return v if v.strip() else None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return str(v)


def _read_excel(con: Any, path: Path, name: str, sheet: Any) -> RawSource:
    import openpyxl

    if path.suffix.lower() == ".xls":  # pragma: no cover - not in SUPPORTED
        raise DataImportError(f"{path}: old .xls format; save it as .xlsx")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException
        raise DataImportError(f"{path}: not a readable Excel file ({exc})") from None
    try:
        ws = _pick_sheet(wb, path, sheet)
        rows = ws.iter_rows(min_row=1, values_only=True)
        header: list[str] | None = None
        number = 0
        for number, values in enumerate(rows, start=1):  # noqa: B007 - number used below
            if any(v is not None and str(v).strip() for v in values):
                header = [_cell_text(v) or "" for v in values]
                break
        if header is None:
            raise DataImportError(f"{path}: sheet {ws.title!r} is empty")
        columns = _unique(header)
        width = len(columns)
        first_row = number + 1

        def batches() -> Iterator[pa.RecordBatch]:
            # openpyxl yields rows one by one; this is the only per-row Python
            # work in the importer, and Excel caps a sheet at about a million rows.
            row_no = first_row
            while True:
                chunk = list(itertools.islice(rows, _BATCH_ROWS))
                if not chunk:
                    return
                cols: list[list[str | None]] = [[] for _ in range(width)]
                nums: list[int] = []
                for values in chunk:
                    texts = [_cell_text(v) for v in values[:width]]
                    if any(t is not None for t in texts):
                        texts += [None] * (width - len(texts))
                        for j in range(width):
                            cols[j].append(texts[j])
                        nums.append(row_no)
                    row_no += 1
                arrays = [pa.array(c, pa.string()) for c in cols]
                arrays.append(pa.array(nums, pa.int64()))
                yield pa.RecordBatch.from_arrays(arrays, names=[*columns, ROW_COLUMN])

        schema = pa.schema([pa.field(c, pa.string()) for c in columns] + [(ROW_COLUMN, pa.int64())])
        reader = pa.RecordBatchReader.from_batches(schema, batches())
        view = f"{name}_src"
        con.con.register(view, reader)
        try:
            run(con, f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM "{view}"')
        finally:
            con.con.unregister(view)
    finally:
        wb.close()
    _require_rows(con, path, name)
    return RawSource(path, "excel", name, columns)


def _pick_sheet(wb: Any, path: Path, sheet: Any) -> Any:
    if sheet is None:
        return wb.worksheets[0]
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit()):
        i = int(sheet)
        if 0 <= i < len(wb.worksheets):
            return wb.worksheets[i]
    elif sheet in wb.sheetnames:
        return wb[sheet]
    raise DataImportError(
        f"{path}: no sheet {sheet!r}; sheets: {', '.join(wb.sheetnames)} (or an index from 0)"
    )
