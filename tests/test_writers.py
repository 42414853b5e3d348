"""The writers: cells are data, never formulas (OWASP CSV injection); files appear whole."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kehu import writers
from kehu.exceptions import SchemaError

RISKY = ["=1+1", "+1", "-2+3", "@SUM(1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']
PLAIN = ["杭州联华超市", "a=1", " =1", "'=1", ""]


def test_csv_quotes_formula_like_text_only():
    header = ["text", "number"]
    rows = [[t, -i - 0.5] for i, t in enumerate(RISKY + PLAIN)] + [[None, -3]]
    data, media = writers.export_table("csv", header, rows, sheet="x")
    assert media == "text/csv; charset=utf-8" and data.startswith(b"\xef\xbb\xbf")
    back = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert back[0] == header
    assert [r[0] for r in back[1:]] == ["'" + t for t in RISKY] + PLAIN + [""]
    assert [float(r[1]) for r in back[1:]] == [-i - 0.5 for i in range(len(rows) - 1)] + [-3]
    assert writers.csv_cell("=x") == "'=x" and writers.csv_cell(-1) == -1


def test_xlsx_keeps_text_as_text():
    rows = [[t, -1, dt.date(2024, 7, 1).isoformat()] for t in RISKY + PLAIN]
    data, media = writers.export_table("xlsx", ["=head", "n", "d"], rows, sheet="s")
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
        writers.export_table("pdf", ["a"], [], sheet="x")


# -- one place for files ---------------------------------------------------------------

SRC = Path(writers.__file__).resolve().parent
#: calls that write a file: methods by name, and module functions as ``module.name``
WRITE_METHODS = {"to_parquet", "to_csv", "to_excel", "to_json", "write_text", "write_bytes"}
WRITE_FUNCTIONS = {"np.save", "os.replace", "os.rename", "pq.write_table", "pcsv.write_csv"}


def _writes(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute):
            dotted = f"{f.value.id}.{f.attr}" if isinstance(f.value, ast.Name) else ""
            if f.attr in WRITE_METHODS or dotted in WRITE_FUNCTIONS or f.attr == "Workbook":
                found.append((node.lineno, dotted or f.attr))
        elif isinstance(f, ast.Name) and f.id == "open":
            mode = node.args[1] if len(node.args) > 1 else None
            mode = next((k.value for k in node.keywords if k.arg == "mode"), mode)
            if isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+"):
                found.append((node.lineno, "open"))
    return found


def test_every_file_is_written_by_the_writers():
    """Services return data; files are written by kehu.writers only (whole, cells safe)."""
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name == "writers.py":
            continue
        for line, call in _writes(ast.parse(path.read_text(encoding="utf-8"))):
            bad.append(f"{name}:{line} {call}")
    assert not bad, f"write files through kehu.writers: {bad}"


def test_the_scan_finds_a_write():
    tree = ast.parse("df.to_parquet(p)\nopen(p, 'wb')\nopen(p)\nnp.save(p, a)\n")
    assert [c for _, c in _writes(tree)] == ["df.to_parquet", "open", "np.save"]
