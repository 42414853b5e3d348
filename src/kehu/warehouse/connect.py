"""Open the DuckDB database that holds imported order data, through Ibis."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import ibis

#: Cap on DuckDB's buffer memory: beyond this it spills to ``temp_directory``.
#: The benchmarks budget 8 GB for a whole job; Python, Arrow results and the
#: process outside the buffer take 2 to 3 GB of that at 100M order lines.
MAX_MEMORY_BYTES = 5 * 1024**3
MIN_MEMORY_BYTES = 512 * 1024**2


def default_memory_limit() -> str:
    """A quarter of physical memory, between 512 MB and 5 GB, as a DuckDB size string."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: take the cap
        total = 4 * MAX_MEMORY_BYTES
    limit = min(MAX_MEMORY_BYTES, max(MIN_MEMORY_BYTES, total // 4))
    return f"{limit // 1024**2}MB"


def connect(
    db_path: str | Path | None = None,
    *,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    threads: int | None = None,
):
    """Connect to an in-memory DuckDB (``None``) or a ``.duckdb`` file.

    Parameters
    ----------
    db_path
        ``None`` or ``":memory:"`` for an in-memory database, else a file path
        (created when missing; its folder must exist).
    memory_limit
        DuckDB ``memory_limit``; default :func:`default_memory_limit`.  Large
        imports spill to ``temp_directory`` past this instead of failing.
    temp_directory
        Where DuckDB spills; default a ``kehu-duckdb`` folder in the system
        temporary folder (an in-memory database has no folder of its own).
    threads
        Worker threads; default DuckDB's (all cores).

    Returns
    -------
    ibis.backends.duckdb.Backend

    Examples
    --------
    >>> con = connect(None)
    >>> con.name
    'duckdb'
    """
    database = ":memory:" if db_path is None else str(db_path)
    if database != ":memory:" and not Path(database).parent.is_dir():
        from kehu.exceptions import ConfigError

        raise ConfigError(f"database {database}: folder {Path(database).parent} does not exist")
    spill = Path(temp_directory) if temp_directory else Path(tempfile.gettempdir()) / "kehu-duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    config: dict[str, object] = {
        "memory_limit": memory_limit or default_memory_limit(),
        "temp_directory": str(spill),
        # Insertion order is irrelevant to every import step; dropping it lets
        # DuckDB stream and spill aggregates instead of buffering.
        "preserve_insertion_order": False,
    }
    if threads:
        config["threads"] = int(threads)
    return ibis.duckdb.connect(database, **config)
