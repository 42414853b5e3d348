"""Engine and session factory for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from kehu.exceptions import ConfigError


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL, secure delete and a busy timeout."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_con, _record):  # every new connection
            cur = dbapi_con.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # freed space is overwritten with zeros, so erased values do not linger in the
            # file (the default of some builds only, so set it on every connection)
            cur.execute("PRAGMA secure_delete=ON")
            if parsed.database and parsed.database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(
            f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
        )
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def checkpoint_wal(engine: Engine) -> dict[str, int]:
    """Copy a SQLite database's write-ahead log into the file and truncate the log.

    The log holds page images of earlier transactions (old values included)
    until a checkpoint resets it.  SQLite waits (the connection's busy
    timeout) for readers still on an older snapshot.  Returns SQLite's
    answer: ``busy`` (1 when it could not finish), ``log`` and
    ``checkpointed`` frames.
    """
    with engine.connect() as con:
        busy, frames, done = con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    return {"busy": busy, "log": frames, "checkpointed": done}


def analyse(engine: Engine) -> bool:
    """Give SQLite's query planner the sizes of the tables and indexes (``ANALYZE``).

    Without them SQLite guesses, and after a refresh it reads every result of the
    run to find a rep's 2,000 customers (0.5 s at 100k customers instead of 10 ms).
    PostgreSQL's autovacuum keeps its statistics itself: nothing is done there.
    The statistics are row counts (a SQLite built with ``STAT4`` also keeps sample
    keys of the indexes: codes, regions, reps; no personal text column is indexed).
    Returns whether the statistics were updated.
    """
    if engine.dialect.name != "sqlite":
        return False
    with engine.begin() as con:
        con.exec_driver_sql("ANALYZE")
    return True


def vacuum_tables(engine: Engine, tables: Sequence[str], *, full: bool = False) -> list[str]:
    """``VACUUM (ANALYZE)`` PostgreSQL tables outside a transaction, so old row versions go.

    A plain ``VACUUM`` removes the versions no open transaction can still see
    (a long transaction running meanwhile keeps them until the next vacuum)
    and refreshes the planner's statistics, which quote column values; it
    does not zero the space they occupied inside the pages.  ``full=True``
    rewrites each table into new files (``VACUUM FULL``): nothing of the old
    versions is left in the database, but the table is locked meanwhile.
    """
    done = []
    options = "FULL, ANALYZE" if full else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        quote = con.dialect.identifier_preparer.quote
        for name in tables:
            con.exec_driver_sql(f"VACUUM ({options}) {quote(name)}")
            done.append(name)
    return done
