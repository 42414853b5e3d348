"""The ``kehu`` command: a thin shell over :mod:`kehu.services`.

Expected errors (:class:`~kehu.exceptions.KehuError`) print one clear line and
exit with status 1; usage errors exit with status 2.
"""

from __future__ import annotations

import logging
import os
import sys

import typer
from rich.text import Text

from kehu.cli import analyze, demo, predict, runs, store
from kehu.exceptions import KehuError

try:  # DuckDB's own out-of-memory error, so that it too is one clear line
    from duckdb import OutOfMemoryException as _DUCKDB_OOM
except ImportError:  # pragma: no cover
    _DUCKDB_OOM = MemoryError

app = typer.Typer(
    name="kehu",
    help=(
        "kehu 客户分类管理: classify customers from order exports and explain the classes.\n\n"
        "Example:\n\n"
        "  kehu analyze orders.xlsx --customers 客户.csv --out out/\n\n"
        "  kehu demo --out demo/"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
analyze.register(app)
demo.register(app)
predict.register(app)
runs.register(app)
store.register(app)


class _OneLine(logging.Formatter):
    """A log record as one line; the traceback only where someone reads it (``KEHU_DEBUG=1``)."""

    def __init__(self, tracebacks: bool):
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks:
            return super().format(record)
        record.message = record.getMessage()
        return self.formatMessage(record)


def _log_to_stderr(argv: list[str]) -> None:
    """kehu's warnings on stderr; a server (``kehu serve``) logs tracebacks, a command not."""
    logger = logging.getLogger("kehu")
    if logger.handlers:  # set up by the caller (tests, an embedding program)
        return
    handler = logging.StreamHandler()
    serving = bool(argv) and argv[0] == "serve"
    handler.setFormatter(_OneLine(tracebacks=serving or os.environ.get("KEHU_DEBUG") == "1"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if serving else logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit status, turning expected errors into one line."""
    from kehu.cli.common import console

    _log_to_stderr(sys.argv[1:] if argv is None else argv)
    try:
        app(args=argv, prog_name="kehu")  # standalone: usage errors and --help exit
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KehuError as exc:
        # plain Text: messages may contain [brackets] that are not markup
        console.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        return 1
    except (MemoryError, _DUCKDB_OOM) as exc:
        hint = "keep the data on disk with --db FILE, or look back less far (window_days)"
        console.print(Text.assemble(("out of memory: ", "bold red"), f"{exc}; {hint}"))
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
