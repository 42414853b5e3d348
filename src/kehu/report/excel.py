"""Excel workbooks of customer lists and tables in any format, with translated headers.

``write_customers_xlsx`` is what a sales team opens: one sheet of customers
(translated headers and class names, frozen header row, autofilter, column
widths fitted to the content), one sheet per class profile and the playbook.
Every file is written to a temporary name and renamed, so an interrupted run
never leaves half a workbook.  Cells are written by :mod:`kehu.writers`,
the writer of every file: a text is never a formula.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from kehu import writers
from kehu.exceptions import ConfigError
from kehu.i18n import CLASS_COLUMNS, check_lang, header, label, text, translate_frame_labels
from kehu.writers import atomic_path

MAX_WIDTH = 60
SHARE_COLUMNS = {"customer_share", "revenue_share", "share", "retention", "repeat_rate", "growth"}
_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def write_customers_xlsx(
    customers_df: pd.DataFrame,
    path: str | Path,
    lang: str = "zh",
    *,
    profiles: Mapping[str, pd.DataFrame] | None = None,
    playbook: Any = None,
) -> Path:
    """Workbook of the customer list, the class profiles and the playbook.

    Parameters
    ----------
    customers_df
        Per-customer table (pandas); class columns are shown with their display names.
    path
        The ``.xlsx`` file to write (replaced atomically).
    lang
        "zh" or "en" for headers, class names and sheet names.
    profiles
        Classifier column -> :func:`kehu.analytics.profile.class_profile` frame.
    playbook
        A :class:`kehu.analytics.playbook.Playbook`; adds the playbook sheet.
    """
    check_lang(lang)
    sheets: list[tuple[str, pd.DataFrame]] = [
        (text("sheet_customers", lang), _display(customers_df, lang))
    ]
    for col, prof in (profiles or {}).items():
        df = prof.copy()
        df["class"] = [label(col, v, lang) for v in df["class"]]
        name = f"{text('sheet_profile', lang)}-{header(col, lang)}"
        sheets.append((name, _translate_headers(df, lang)))
    if playbook is not None:
        pb = playbook.to_frame(lang)
        pb["classifier"] = [header(c, lang) for c in pb["classifier"]]
        sheets.append((text("sheet_playbook", lang), _translate_headers(pb, lang)))
    with atomic_path(path) as tmp:
        _write_xlsx(sheets, str(tmp))
    return Path(path)


def write_table(
    df: pd.DataFrame, path: str | Path, lang: str = "zh", *, translate_values: bool = False
) -> Path:
    """Write ``df`` as Parquet, CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX.

    The format follows the extension.  CSV and XLSX get translated headers (and,
    with ``translate_values``, translated class names) and never formulas (a CSV
    text starting with ``=`` gets a leading ``'``); Parquet keeps the canonical
    column names and values so that it can be read back by kehu.
    """
    check_lang(lang)
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".parquet", ".csv", ".xlsx"):
        raise ConfigError(
            f"cannot write {path}: unknown extension {ext or '(none)'!r}; "
            "use .parquet, .csv or .xlsx"
        )
    shown = _display(df, lang) if translate_values else _translate_headers(df, lang)
    if ext == ".parquet":
        return writers.write_parquet(path, df)
    if ext == ".csv":
        return writers.write_csv(path, shown)
    with atomic_path(path) as tmp:
        _write_xlsx([(path.stem, shown)], str(tmp))
    return path


# --- helpers ----------------------------------------------------------------------------


def _display(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    return _translate_headers(translate_frame_labels(df, CLASS_COLUMNS, lang), lang)


def _translate_headers(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    names = [header(str(c), lang) for c in df.columns]
    seen: dict[str, int] = {}
    unique = []
    for n in names:  # two columns may share a display name (orders / aov ...)
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return df.set_axis(unique, axis=1)


def _sheet_name(name: str, used: set[str]) -> str:
    base = name.translate(_BAD_SHEET_CHARS).strip("'")[:31] or "Sheet"
    out, i = base, 2
    while out.lower() in used:
        suffix = f" ({i})"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(out.lower())
    return out


def _width(value: Any) -> int:
    s = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _for_excel(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as naive datetimes, which Excel shows with the date format."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            out[col] = s.dt.tz_localize(None)
        elif s.dtype == object:
            first = s.dropna().head(1).tolist()
            if first and isinstance(first[0], dt.date):
                out[col] = pd.to_datetime(s)
    return out


def _write_xlsx(sheets: list[tuple[str, pd.DataFrame]], path: str) -> None:
    # xlsxwriter directly, a column at a time: pandas' to_excel styles every cell
    # in Python and was ten times slower on customer lists of tens of thousands
    used: set[str] = set()
    with writers.workbook(path) as book:
        head_props = {"bold": True, "bg_color": "#EEF2F7", "border": 1, "text_wrap": True}
        head = book.add_format(head_props)
        quoted_head = writers.quoted_format(book, head_props)
        quoted = writers.quoted_format(book)
        formats = {
            "pct": book.add_format({"num_format": "0.0%"}),
            "money": book.add_format({"num_format": "#,##0.00"}),
            "date": book.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        shares = _share_headers()
        for name, df in sheets:
            ws = book.add_worksheet(_sheet_name(name, used))
            data = _for_excel(df)
            n_rows, n_cols = data.shape
            for j, col in enumerate(data.columns):
                values, kind = _cells(data[col])
                if kind is None and df.columns[j] in shares:
                    kind = "pct"
                fmt = formats.get(kind) if kind else None
                title = str(col)
                ws.write(0, j, title, quoted_head if writers.is_formula_like(title) else head)
                writers.write_column(ws, 1, j, values, quoted, fmt)
                sample = [str(v) for v in data[col].head(500).dropna().tolist()]
                width = min(MAX_WIDTH, max([_width(col)] + [_width(v) for v in sample]) + 2)
                ws.set_column(j, j, max(width, 12) if kind in ("date", "datetime") else width)
            ws.freeze_panes(1, 0)
            if n_cols:
                ws.autofilter(0, 0, max(n_rows, 1), n_cols - 1)


def _cells(s: pd.Series) -> tuple[list[Any], str | None]:
    """Python values of a column for xlsxwriter (missing -> None) and its number format."""
    if pd.api.types.is_datetime64_any_dtype(s):
        stamps = s.dt.tz_localize(None) if isinstance(s.dtype, pd.DatetimeTZDtype) else s
        timed = bool((stamps.dropna() != stamps.dropna().dt.normalize()).any())
        values = [None if pd.isna(v) else v.to_pydatetime() for v in stamps]
        return values, "datetime" if timed else "date"
    missing = s.isna().to_numpy()
    values = s.astype(object).to_numpy().tolist()
    values = [None if m else v for v, m in zip(values, missing, strict=True)]
    if pd.api.types.is_float_dtype(s):
        return values, "money"
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        values = [None if v is None else str(v) for v in values]
    return values, None


def _share_headers() -> set[str]:
    return {header(c, lang) for c in SHARE_COLUMNS for lang in ("zh", "en")}
