"""Classification runs kept on disk, so that classes can be compared over time.

A run is a folder ``<runs>/<run_id>/`` holding ``customers.parquet`` (the
per-customer table with every class column) and ``run.json`` (as-of date,
window, input fingerprint, and each classifier's parameters, thresholds and
rule version).  The run id is derived from the as-of date and a hash of the
inputs and parameters, so re-running the same analysis replaces the same run
instead of piling up copies.  A run can be *published*: its grades are then
kept unchanged for that period (the tobacco practice of locking 档位 once
announced) even if the data are later corrected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kehu.exceptions import ConflictError, NotFoundError
from kehu.writers import atomic_folder, write_json, write_parquet

RUN_FILE = "run.json"
TABLE_FILE = "customers.parquet"


@dataclass(frozen=True)
class Run:
    """One kept classification run."""

    run_id: str
    path: Path
    info: dict[str, Any]

    @property
    def as_of(self) -> dt.date:
        return dt.date.fromisoformat(self.info["as_of"])

    @property
    def published(self) -> bool:
        return bool(self.info.get("published"))

    def customers(self, columns: list[str] | None = None) -> pd.DataFrame:
        return pd.read_parquet(self.path / TABLE_FILE, columns=columns)


def run_id_for(as_of: dt.date, fingerprint: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode())
    return f"{as_of:%Y%m%d}-{digest.hexdigest()[:8]}"


class RunStore:
    """The runs folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def save(self, run_id: str, customers: pd.DataFrame, info: dict[str, Any]) -> Run:
        """Write a run atomically; a published run with the same id is never overwritten."""
        target = self.root / run_id
        if target.exists():
            old = self._load(target)
            if old.published:
                raise ConflictError(
                    f"run {run_id} is published and cannot be replaced; "
                    "change the as-of date or the data to make a new run"
                )
        with atomic_folder(target) as tmp:
            write_parquet(tmp / TABLE_FILE, customers)
            write_json(tmp / RUN_FILE, {**info, "run_id": run_id, "saved_at": _now()})
        return self._load(target)

    def list(self) -> list[Run]:
        """All runs, oldest as-of date first."""
        if not self.root.is_dir():
            return []
        runs = [self._load(p) for p in self.root.iterdir() if (p / RUN_FILE).is_file()]
        return sorted(runs, key=lambda r: (r.as_of, r.info.get("saved_at", "")))

    def get(self, run_id: str) -> Run:
        path = self.root / run_id
        if not (path / RUN_FILE).is_file():
            known = ", ".join(r.run_id for r in self.list()) or "(none)"
            raise NotFoundError(f"no run {run_id!r} in {self.root}; runs: {known}")
        return self._load(path)

    def latest(self, *, before: dt.date | None = None) -> Run | None:
        runs = [r for r in self.list() if before is None or r.as_of < before]
        return runs[-1] if runs else None

    def publish(self, run_id: str) -> Run:
        """Mark a run published: its grades become the locked grades of its period."""
        run = self.get(run_id)
        info = {**run.info, "published": True, "published_at": _now()}
        write_json(run.path / RUN_FILE, info)
        return self._load(run.path)

    def published_for(self, as_of: dt.date) -> Run | None:
        """The published run of the period ending at ``as_of``, if any."""
        runs = [r for r in self.list() if r.published and r.as_of == as_of]
        return runs[-1] if runs else None

    @staticmethod
    def _load(path: Path) -> Run:
        info = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
        return Run(run_id=path.name, path=path, info=info)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def migration_between(root: str | Path, from_run: str, to_run: str, column: str) -> pd.DataFrame:
    """From-to matrix (rows: class before, columns: class after) between two kept runs."""
    from kehu.analytics.migration import migration_matrix, to_wide
    from kehu.analytics.schema import to_table

    store = RunStore(root)
    before, after = store.get(from_run), store.get(to_run)
    frames = []
    for run in (before, after):
        table = run.customers()
        if column not in table.columns:
            raise NotFoundError(
                f"run {run.run_id} has no column {column!r}; columns: {', '.join(table.columns)}"
            )
        frames.append(to_table(table[["customer_id", column]]))
    long = migration_matrix(frames[0], frames[1], column=column).to_pandas()
    return to_wide(long)
