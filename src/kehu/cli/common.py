"""What every command shares: options, the console, progress, errors."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from kehu.analytics.rfm import as_date
from kehu.config import Settings, load_config

console = Console(stderr=True, highlight=False)
out = Console(highlight=False)

Paths = Annotated[
    list[Path],
    typer.Argument(help="Order files: CSV, Excel (.xlsx) or Parquet; folders and globs allowed."),
]
CustomersOpt = Annotated[
    list[Path] | None,
    typer.Option("--customers", "-c", help="Customer master file(s) (客户资料)."),
]
ProductsOpt = Annotated[
    list[Path] | None, typer.Option("--products", "-p", help="Product file(s) (商品资料).")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Analysis date YYYY-MM-DD (exclusive). Default: day after the last order."
    ),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="YAML settings file (see `kehu config-example`).")
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        "-m",
        help="Column mapping canonical=source header, repeatable: --map 'amount=实收金额'.",
    ),
]
DbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="Keep the imported data in this DuckDB file (default: in memory)."),
]
LangOpt = Annotated[
    str | None, typer.Option("--lang", help="Language of headers and report: zh or en.")
]


def settings_from(
    config: Path | None, *, as_of: str | None = None, lang: str | None = None
) -> Settings:
    """Settings from the config file, with command-line options taking precedence."""
    settings = load_config(config)
    updates: dict = {}
    if as_of is not None:
        updates["as_of"] = as_date(as_of, "--as-of")
    if lang is not None:
        from kehu.exceptions import ConfigError

        if lang not in ("zh", "en"):
            raise ConfigError(f"--lang must be zh or en, got {lang!r}")
        updates["lang"] = lang
    return settings.model_copy(update=updates) if updates else settings


def as_list(paths: Sequence[Path] | None) -> list[Path] | None:
    return list(paths) if paths else None


@contextlib.contextmanager
def steps_progress(steps: Sequence[str], labels: dict[str, str]) -> Iterator:
    """A progress bar over named steps; yields the ``on_step`` callback."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task("", total=len(steps))
    seen: list[str] = []

    def on_step(name: str) -> None:
        if seen:
            progress.advance(task)
        seen.append(name)
        progress.update(task, description=labels.get(name, name))

    with progress:
        yield on_step
        progress.update(task, completed=len(steps))


def print_files(files: Mapping[str, Path]) -> None:
    """List what a command wrote, one path a line."""
    for path in files.values():
        out.print(f"  → {path}")


def today() -> dt.date:
    return dt.date.today()
