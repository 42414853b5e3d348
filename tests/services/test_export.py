"""The export writer: CSV and Excel cells are data, never formulas (OWASP CSV injection)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from kehu.exceptions import SchemaError
from kehu.services import export

RISKY = ["=1+1", "+1", "-2+3", "@SUM(1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']
PLAIN = ["杭州联华超市", "a=1", " =1", "'=1", ""]


def test_csv_quotes_formula_like_text_only():
    header = ["text", "number"]
    rows = [[t, -i - 0.5] for i, t in enumerate(RISKY + PLAIN)] + [[None, -3]]
    data, media = export.export_table("csv", header, rows, sheet="x")
    assert media == "text/csv; charset=utf-8" and data.startswith(b"\xef\xbb\xbf")
    back = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert back[0] == header
    assert [r[0] for r in back[1:]] == ["'" + t for t in RISKY] + PLAIN + [""]
    assert [float(r[1]) for r in back[1:]] == [-i - 0.5 for i in range(len(rows) - 1)] + [-3]
    assert export.csv_cell("=x") == "'=x" and export.csv_cell(-1) == -1


def test_xlsx_keeps_text_as_text():
    rows = [[t, -1, dt.date(2024, 7, 1).isoformat()] for t in RISKY + PLAIN]
    data, media = export.export_table("xlsx", ["=head", "n", "d"], rows, sheet="s")
    assert media == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(io.BytesIO(data))["s"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    # openpyxl leaves the carriage return in xlsx's escaped spelling
    shown = [t.replace("\r", "_x000D_") for t in RISKY]
    assert [c.value for c in ws["A"]] == ["=head", *shown, *PLAIN[:-1], None]
    assert [c.value for c in ws["B"][1:]] == [-1] * len(rows)  # numbers stay numbers
    assert [ws.cell(row=i + 2, column=1).quotePrefix for i in range(len(RISKY))] == [True] * len(
        RISKY
    )
    assert not ws.cell(row=len(RISKY) + 2, column=1).quotePrefix


def test_unknown_format():
    with pytest.raises(SchemaError, match="csv or xlsx"):
        export.export_table("pdf", ["a"], [], sheet="x")
