"""Save and load :class:`~kehu.services.understanding.ReportData` as a folder.

``kehu analyze`` keeps the data behind its report in ``OUT/report_data/`` so
that ``kehu report OUT --lang en`` can render it again (in the other language,
or after a template change) without redoing the analysis.  Frames are stored
as Parquet, arrays as ``.npy``, everything else in one JSON manifest; no
pickle, so a folder from elsewhere cannot run code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kehu.exceptions import NotFoundError
from kehu.services.understanding import ReportData
from kehu.writers import atomic_folder, write_array, write_json, write_parquet

MANIFEST = "manifest.json"


def save_report_data(data: ReportData, folder: str | Path) -> Path:
    """Write ``data`` into ``folder`` (replaced whole)."""
    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        files: list[int] = [0]
        fields = {}
        for f in dataclasses.fields(data):
            value = getattr(data, f.name)
            if f.name == "playbook" and value is not None:
                value = {"__playbook__": value.to_dict()}
            fields[f.name] = _dump(value, tmp, files)
        write_json(tmp / MANIFEST, fields)
    return folder


def load_report_data(folder: str | Path) -> ReportData:
    """Read what :func:`save_report_data` wrote."""
    folder = Path(folder)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise NotFoundError(
            f"no report data in {folder}: run `kehu analyze ... --out DIR` first, "
            "then `kehu report DIR`"
        )
    fields = json.loads(manifest.read_text(encoding="utf-8"))
    values = {name: _load(value, folder) for name, value in fields.items()}
    if isinstance(values.get("playbook"), dict) and "__playbook__" in values["playbook"]:
        from kehu.analytics.playbook import Playbook

        values["playbook"] = Playbook(values["playbook"]["__playbook__"])
    if values.get("migration_dates"):
        values["migration_dates"] = tuple(values["migration_dates"])
    return ReportData(**values)


def _dump(value: Any, folder: Path, files: list[int]) -> Any:
    if isinstance(value, pd.DataFrame):
        files[0] += 1
        name = f"frame{files[0]}.parquet"
        write_parquet(folder / name, value)
        return {"__frame__": name}
    if isinstance(value, np.ndarray):
        files[0] += 1
        name = f"array{files[0]}.npy"
        write_array(folder / name, value)
        return {"__array__": name}
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_dump(k, folder, files), _dump(v, folder, files)] for k, v in value.items()
            ]
        }
    if isinstance(value, list | tuple):
        return [_dump(v, folder, files) for v in value]
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dt.date):
        return {"__date__": value.isoformat()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _load(value: Any, folder: Path) -> Any:
    if isinstance(value, list):
        return [_load(v, folder) for v in value]
    if not isinstance(value, dict):
        return value
    if "__frame__" in value:
        return pd.read_parquet(folder / value["__frame__"])
    if "__array__" in value:
        return np.load(folder / value["__array__"], allow_pickle=False)
    if "__dict__" in value:
        return {_load(k, folder): _load(v, folder) for k, v in value["__dict__"]}
    if "__datetime__" in value:
        return dt.datetime.fromisoformat(value["__datetime__"])
    if "__date__" in value:
        return dt.date.fromisoformat(value["__date__"])
    return {k: _load(v, folder) for k, v in value.items()}
