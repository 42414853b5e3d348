"""The files of each job, in one place: what ``kehu analyze``, ``import``, the prediction
commands and the run report leave behind.

Services compute and return data; the faces call these functions to write it, each
file through :mod:`kehu.writers` (whole or not at all, cells never formulas).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kehu.exceptions import ConfigError
from kehu.i18n import check_lang
from kehu.report.excel import write_customers_xlsx, write_table
from kehu.report.html import render_report, write_report
from kehu.report.store import save_report_data
from kehu.services.run_report import report_data, reportable_run
from kehu.services.understanding import ReportData, classes_table
from kehu.writers import write_json, write_parquet, write_record_csv, write_text

if TYPE_CHECKING:
    import pandas as pd

    from kehu.services.access import Actor
    from kehu.services.analysis import Analysis
    from kehu.services.predict import Prediction
    from kehu.warehouse import ImportResult

#: table formats a prediction's main table may also be written in
TABLE_FORMATS = ("csv", "xlsx")
#: the run reports' folder under the workspace
REPORTS_DIR = "reports"
#: one render at a time in a process: a second asker waits, then reads the kept file
_RENDER_LOCK = threading.Lock()


def import_files(imported: ImportResult, out_dir: str | Path) -> dict[str, Path]:
    """``import_summary.json`` and ``rejects.csv`` of an import."""
    out_dir = Path(out_dir)
    return {
        "import_summary": write_json(out_dir / "import_summary.json", imported.summary.to_dict()),
        # the values as they were in the file, so that the analyst can find each row
        "rejects": write_record_csv(
            out_dir / "rejects.csv", imported.rejects.order_by(["file", "row"]).to_pyarrow()
        ),
    }


def analysis_files(result: Analysis, out_dir: str | Path, lang: str) -> dict[str, Path]:
    """Every file of ``kehu analyze``: the tables, the workbook, the report and its data."""
    out_dir = Path(out_dir)
    data = result.report
    files = {
        "customers": write_parquet(out_dir / "customers.parquet", result.customers),
        "customers_xlsx": write_customers_xlsx(
            result.customers,
            out_dir / "customers.xlsx",
            lang,
            profiles=data.profiles,
            playbook=data.playbook,
        ),
        "classes": write_parquet(out_dir / "classes.parquet", classes_table(data.profiles)),
        "report": write_report(data, out_dir / "report.html", lang),
        "report_data": save_report_data(data, out_dir / "report_data"),
        **import_files(result.classified.imported, out_dir),
    }
    run = {**result.classified.info, "run_id": result.run_id}
    files["run"] = write_json(out_dir / "run.json", run)
    return files


def check_formats(formats: Sequence[str]) -> None:
    """Refuse an unknown table format before any work is done."""
    for fmt in formats:
        if fmt not in TABLE_FORMATS:
            raise ConfigError(f"--format must be csv or xlsx, got {fmt!r}")


def table_files(
    path: Path, frame: pd.DataFrame, formats: Sequence[str], lang: str
) -> dict[str, Path]:
    """``frame`` as Parquet at ``path``, plus CSV and/or Excel copies with translated headers.

    Returns the files keyed by ``path.stem`` (and ``STEM_csv``, ``STEM_xlsx``).
    """
    check_formats(formats)
    out = {path.stem: write_parquet(path, frame)}
    for fmt in formats:
        out[f"{path.stem}_{fmt}"] = write_table(frame, path.with_suffix(f".{fmt}"), lang)
    return out


def prediction_files(
    result: Prediction, out_dir: str | Path, *, formats: Sequence[str] = (), lang: str = "zh"
) -> dict[str, Path]:
    """A prediction's files: its figures (JSON) first, then its tables and fitted models."""
    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    for name, payload in result.figures.items():
        files[name] = write_json(out_dir / f"{name}.json", payload)
    files.update(table_files(out_dir / f"{result.name}.parquet", result.table, formats, lang))
    for name, frame in result.tables.items():
        files[name] = write_parquet(out_dir / f"{name}.parquet", frame)
    for key, (stem, model) in result.models.items():
        files[key] = model.save(out_dir / f"{stem}.zip")
    return files


def report_path(workspace: Path, run_id: int, lang: str) -> Path:
    """Where the report of a store run in a language is kept."""
    return Path(workspace) / REPORTS_DIR / f"run-{run_id}-report-{lang}.html"


def run_report(session: Any, *, actor: Actor, run_id: int, lang: str, workspace: Path) -> bytes:
    """The HTML report (UTF-8) of the store's current run ``run_id`` in ``lang``.

    ``session`` is a store session (the report layer does not import the store).

    Who may have it is :func:`kehu.services.run_report.reportable_run`'s to say (a
    :class:`~kehu.exceptions.NotFoundError` otherwise).  Rendering reads every order, so
    the file is kept per (run, language) under the workspace and the next download is a
    file read; the reports of other runs are removed, as only the current run has one.
    """
    check_lang(lang)
    run = reportable_run(session, actor=actor, run_id=run_id)
    path = report_path(workspace, run.id, lang)
    if path.is_file():
        return path.read_bytes()
    with _RENDER_LOCK:
        if not path.is_file():  # another thread may have written it while this one waited
            write_text(path, _render(report_data(session, run, lang), lang))
            _drop_other_runs(path.parent, run.id)
    return path.read_bytes()


def _render(data: ReportData, lang: str) -> str:
    return render_report(data, lang)


def _drop_other_runs(folder: Path, run_id: int) -> None:
    keep = f"run-{run_id}-report-"
    for old in folder.glob("run-*-report-*.html"):
        if not old.name.startswith(keep):
            old.unlink(missing_ok=True)
