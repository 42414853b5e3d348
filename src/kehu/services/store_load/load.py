"""A whole load: import, stage, then write the batches a previous run has not written."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kehu.exceptions import DataImportError, SchemaError
from kehu.services import audit
from kehu.services.access import SYSTEM, Actor, require
from kehu.services.store_load.batches import COUNT_KEYS, _write_batch
from kehu.services.store_load.rejects import _reject_summary, _write_rejects
from kehu.services.store_load.staging import _drop_work_tables, _import, _plan
from kehu.services.store_load.summary import LoadSummary
from kehu.store.models import LoadRun, utcnow
from kehu.warehouse import ImportOptions

PathArg = str | Path | Sequence[str | Path]


Progress = Callable[[str, int, int], None]


def load_files(
    factory: sessionmaker[Session],
    *,
    orders: PathArg | None = None,
    customers: PathArg | None = None,
    products: PathArg | None = None,
    options: ImportOptions | None = None,
    batch_size: int = 2000,
    actor: Actor = SYSTEM,
    progress: Progress | None = None,
    rejects_dir: str | Path | None = None,
) -> LoadSummary:
    """Import files and write them into the store in transactional batches.

    Parameters
    ----------
    factory
        Session factory of the store (each batch gets its own session).
    orders, customers, products
        Files, folders or globs; at least one.  With ``orders``, the customer
        and product files are imported together with it and the attributes
        carried by order lines fill their gaps.
    options
        Import options (column mapping and row rules), as for ``kehu analyze``.
    batch_size
        Keys per transaction.
    actor
        Who loads (recorded in the audit log).
    progress
        Called as ``progress(step, done, total)``.
    rejects_dir
        Folder for the rejects file ``load-<id>-rejects.csv`` (written when a
        row was rejected or set aside); ``None`` writes none.

    Returns
    -------
    LoadSummary

    Raises
    ------
    DataImportError
        Nothing to load, an unreadable file, or a batch the database refused
        (the load is recorded as failed; run it again to resume).
    """
    _check_request(actor, orders, customers, products, batch_size)
    options = options or ImportOptions()
    progress = progress or (lambda *_: None)
    fingerprint, files = _fingerprint(orders, customers, products, options, batch_size)

    con, summary, plan, (reject_counts, rejected, shown) = _import_and_stage(
        orders, customers, products, options, batch_size, progress
    )
    total = sum(n for _, n in plan)
    run_id, resumed = _open_run(
        factory, fingerprint, files, plan, {**summary, "load_rejects": reject_counts}, actor
    )
    rejects_file = None
    if rejects_dir is not None and reject_counts:
        rejects_file = Path(rejects_dir).resolve() / f"load-{run_id}-rejects.csv"
    try:
        _write_all(factory, con, run_id, plan, resumed, progress, rejects_file)
    finally:
        _drop_work_tables(con)
    counts, conflicts = _close_run(factory, run_id, actor, files, reject_counts)
    return LoadSummary(
        load_id=run_id,
        status="done",
        batches=total,
        resumed_batches=resumed,
        counts=counts,
        conflicts=conflicts,
        import_summary=summary,
        rejected=rejected,
        reject_counts=reject_counts,
        rejects=shown,
        rejects_file=str(rejects_file) if rejects_file else None,
    )


def _check_request(actor: Actor, orders, customers, products, batch_size: int) -> None:
    """A load needs the right to write every customer, a file and a positive batch size."""
    require(actor, "customers.write")
    require(actor, "customers.read_all")
    if orders is None and customers is None and products is None:
        raise DataImportError("nothing to load: give an orders, customers or products file")
    if batch_size < 1:
        raise SchemaError(f"batch size must be positive, got {batch_size}")


def _import_and_stage(orders, customers, products, options, batch_size, progress):
    """Import the files and stage them in DuckDB.

    Returns the connection, the import's summary, the plan and the rejects' summary.
    """
    progress("import", 0, 1)
    imported, summary = _import(orders, customers, products, options)
    progress("import", 1, 1)
    con = imported["con"]
    try:
        con.raw_sql("SET enable_progress_bar = false")  # progress goes to ``progress``
        plan = _plan(con, imported, batch_size)
        rejects = _reject_summary(con)
    except BaseException:
        _drop_work_tables(con)
        raise
    return con, summary, plan, rejects


def _open_run(
    factory: sessionmaker[Session],
    fingerprint: str,
    files: list,
    plan: list[tuple[str, int]],
    import_summary: dict[str, Any],
    actor: Actor,
) -> tuple[int, int]:
    """The load's record: an unfinished run of the same files resumed, or a new one.

    Returns the run's id and the number of batches already written.
    """
    total = sum(n for _, n in plan)
    with factory() as session:
        run = session.scalar(
            select(LoadRun)
            .where(LoadRun.fingerprint == fingerprint, LoadRun.status != "done")
            .order_by(LoadRun.id.desc())
        )
        resumed = 0
        if run is not None and run.batches_total == total:
            resumed = run.batches_done
            run.status = "running"
            run.error = None
        else:
            run = LoadRun(
                fingerprint=fingerprint,
                files=files,
                batches_total=total,
                counts={k: dict.fromkeys(COUNT_KEYS, 0) for k, _ in plan},
                import_summary=import_summary,
                user_id=actor.user_id,
            )
            session.add(run)
        session.commit()
        return run.id, resumed


def _write_all(
    factory: sessionmaker[Session],
    con,
    run_id: int,
    plan: list[tuple[str, int]],
    resumed: int,
    progress: Progress,
    rejects_file: Path | None,
) -> None:
    """Write the rejects file, then every batch from the first one earlier runs did not write.

    A failure is recorded on the run (which a later run of the same load resumes).
    """
    batch = 0
    try:
        if rejects_file is not None:
            _write_rejects(con, rejects_file)
        for kind, n in plan:
            for i in range(n):
                if batch >= resumed:
                    _write_batch(factory, con, run_id, kind, i, n, batch)
                batch += 1
                progress(f"write {kind}", i + 1, n)
    except BaseException as exc:
        with factory() as session, session.begin():
            run = session.get(LoadRun, run_id)
            run.status = "failed"
            run.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise


def _close_run(
    factory: sessionmaker[Session], run_id: int, actor: Actor, files: list, reject_counts: dict
) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
    """Mark the run done and audit it; its counts and conflicts."""
    with factory() as session, session.begin():
        run = session.get(LoadRun, run_id)
        run.status = "done"
        run.finished_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="load",
            entity="load_run",
            entity_id=run_id,
            changes={"counts": run.counts, "files": files, "rejects": reject_counts},
        )
        return dict(run.counts), list(run.conflicts)


def _fingerprint(orders, customers, products, options, batch_size) -> tuple[str, list]:
    from kehu.warehouse.readers import expand_paths

    files = []
    for kind, arg in (("orders", orders), ("customers", customers), ("products", products)):
        if arg is None:
            continue
        for p in expand_paths(arg):
            st = Path(p).stat()
            files.append(
                {
                    "kind": kind,
                    "path": str(Path(p).resolve()),
                    "size": st.st_size,
                    "mtime_ns": st.st_mtime_ns,
                }
            )
    blob = json.dumps(
        {"files": files, "options": repr(options), "batch": batch_size}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest(), files
