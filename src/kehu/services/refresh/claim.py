"""One refresh at a time, across processes and hosts; a run whose process stopped is found.

A unique index allows one ``running`` row; the running run records its owner
(``host:pid``) and a heartbeat, and one whose heartbeat stopped or whose process is
gone is marked failed, :data:`INTERRUPTED`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kehu.config import Settings
from kehu.exceptions import ConflictError, KehuError
from kehu.services.access import Actor
from kehu.services.refresh.runs import current_run
from kehu.store.models import (
    ClassificationRun,
    utcnow,
)

log = logging.getLogger("kehu.refresh")

#: a running run touches its heartbeat this often; one silent for STALE_AFTER was interrupted
HEARTBEAT_SECONDS = 30
STALE_AFTER = dt.timedelta(minutes=5)
#: the error of a run whose process stopped before it finished (kill -9, crash, power loss)
INTERRUPTED = "interrupted: the process doing the run stopped before it finished"
#: what each step does, for the message of a run that failed in it
STEP_FAILURES = {
    "read": "the store's orders could not be read",
    "classify": "the classes could not be computed",
    "predict": "the predictions could not be computed",
    "write": "the results could not be written",
}
#: tests only (with KEHU_ENV=test): ``<step>:<seconds>`` to sleep before a step
TEST_PAUSE_ENV = "KEHU_TEST_REFRESH_PAUSE"
#: ids of the runs this process is doing now
_ACTIVE_RUNS: set[int] = set()


class RefreshRunningError(ConflictError):
    """Another refresh is running: one at a time, across processes and hosts."""

    def __init__(self, run: ClassificationRun):
        self.run_id = run.id
        self.started_at = run.started_at
        self.heartbeat_at = run.heartbeat_at
        super().__init__(
            f"a refresh is already running (run {run.id}, started "
            f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC); try again when it has finished"
        )


# --- one run at a time, and runs whose process stopped ------------------------------------------


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _alive(pid: int) -> bool:
    if os.name != "posix":  # pragma: no cover - the heartbeat timeout still applies
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def _stale(run: ClassificationRun, now: dt.datetime) -> str | None:
    """Why a ``running`` run is known to be dead, or None while it may still be working."""
    last = run.heartbeat_at or run.started_at
    if last is not None and now - last > STALE_AFTER:
        return f"no heartbeat since {last:%Y-%m-%d %H:%M:%S} UTC"
    host, _, pid = (run.owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    if int(pid) == os.getpid():
        # this very process: a run it is not doing was left by an earlier life of the same pid
        # (pid 1 in a restarted container)
        return None if run.id in _ACTIVE_RUNS else "left by an earlier process with this pid"
    return None if _alive(int(pid)) else f"process {pid} on this host is gone"


def mark_interrupted(factory: sessionmaker[Session]) -> list[int]:
    """Mark ``failed`` (:data:`INTERRUPTED`) the running runs whose process stopped.

    A run is taken as stopped when its heartbeat is older than :data:`STALE_AFTER`,
    or when its owner is a process of this host that no longer exists.  Each update
    is guarded by the heartbeat that was judged, so a run that beat meanwhile is kept.
    Returns the ids marked.
    """
    now = utcnow()
    marked = []
    with factory() as session, session.begin():
        running = session.scalars(
            select(ClassificationRun).where(ClassificationRun.status == "running")
        ).all()
        for run in running:
            why = _stale(run, now)
            if why is None:
                continue
            if run.heartbeat_at is None:
                same_beat = ClassificationRun.heartbeat_at.is_(None)
            else:
                same_beat = ClassificationRun.heartbeat_at == run.heartbeat_at
            done = session.execute(
                update(ClassificationRun)
                .where(
                    ClassificationRun.id == run.id,
                    ClassificationRun.status == "running",
                    same_beat,
                )
                .values(status="failed", finished_at=now, error=INTERRUPTED)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount:
                log.info("refresh run %s marked interrupted: %s (owner %s)", run.id, why, run.owner)
                marked.append(run.id)
    return marked


def recover_interrupted(factory: sessionmaker[Session]) -> list[int]:
    """:func:`mark_interrupted` for a server starting up: logs and never raises."""
    try:
        marked = mark_interrupted(factory)
    except Exception:
        log.exception("could not check for interrupted refresh runs")
        return []
    for run_id in marked:
        log.warning("refresh run %s was interrupted (its process stopped); marked failed", run_id)
    return marked


def _claim(factory, actor: Actor, settings: Settings) -> tuple[int, int | None]:
    """Record a new ``running`` run, or raise :class:`RefreshRunningError`.

    The database's unique index on running runs decides between racing processes:
    the loser's insert fails and it reports the winner.
    """
    for _attempt in range(3):
        try:
            with factory() as session, session.begin():
                previous = current_run(session)
                run = ClassificationRun(
                    status="running",
                    triggered_by=actor.user_id,
                    previous_run_id=previous.id if previous else None,
                    settings=settings.model_dump(mode="json", by_alias=True),
                    owner=_owner(),
                    heartbeat_at=utcnow(),
                )
                session.add(run)
                session.flush()
                claimed = run.id, run.previous_run_id
        except IntegrityError:
            with factory() as session:
                running = session.scalar(
                    select(ClassificationRun).where(ClassificationRun.status == "running")
                )
            if running is not None:
                raise RefreshRunningError(running) from None
            continue  # the other run finished meanwhile: try again
        _ACTIVE_RUNS.add(claimed[0])
        return claimed
    raise ConflictError("could not start the refresh: other runs kept starting; try again")


def _touch(engine: Engine, run_id: int) -> None:
    """Record that the run is alive (only while it is still running)."""
    runs = ClassificationRun.__table__
    with engine.begin() as con:
        con.execute(
            update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(heartbeat_at=utcnow())
        )


class _Heartbeat:
    """Touches a run's heartbeat every ``every`` seconds from a thread until stopped.

    Steps can take long (a big read or write); between steps the refresh touches
    the heartbeat itself.
    """

    def __init__(self, engine: Engine, run_id: int, *, every: float = HEARTBEAT_SECONDS):
        self._stop = threading.Event()
        self._every = every
        self._thread = threading.Thread(
            target=self._beat, args=(engine, run_id), name=f"kehu-heartbeat-{run_id}", daemon=True
        )
        self._thread.start()

    def _beat(self, engine: Engine, run_id: int) -> None:
        while not self._stop.wait(self._every):
            try:
                _touch(engine, run_id)
            except Exception:  # e.g. SQLite busy with the run's own write: try next time
                log.warning("heartbeat of refresh run %s not recorded", run_id, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        # a beat waiting on a lock ends on its own; its update only touches a running run
        self._thread.join(timeout=5)


def _test_pause(step: str) -> None:
    """Tests only: with ``KEHU_ENV=test`` and ``KEHU_TEST_REFRESH_PAUSE=<step>:<seconds>``,
    sleep before that step, so that a test can overlap two refreshes or kill one."""
    spec = os.environ.get(TEST_PAUSE_ENV)
    if not spec or os.environ.get("KEHU_ENV") != "test":
        return
    name, _, seconds = spec.partition(":")
    if name == step:
        time.sleep(float(seconds))


# --- failures: a clean message for users, the detail for the log ---------------------------------


def _user_facing(exc: BaseException) -> bool:
    """A KehuError raised by kehu itself, not wrapping another error (whose text may hold data)."""
    seen: BaseException | None = exc
    while seen is not None:
        if not isinstance(seen, KehuError):
            return False
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return True


def _failure_message(step: str, exc: BaseException, run_id: int) -> str:
    if _user_facing(exc):
        return f"the {step} step failed: {exc}"[:2000]
    what = STEP_FAILURES.get(step, "the refresh stopped")
    if isinstance(exc, IntegrityError | DataError):
        what = "the database refused the results" if step == "write" else "the database refused it"
        return f"the {step} step failed: {what} (see the server log, run {run_id})"
    kind = "database error" if isinstance(exc, SQLAlchemyError) else type(exc).__name__
    return f"the {step} step failed: {what} ({kind}; see the server log, run {run_id})"


def _record_failure(factory, run_id: int, message: str, notes, skipped) -> None:
    """Mark the run failed (unless another process already marked it); never raises."""
    try:
        with factory() as session, session.begin():
            base = session.scalar(
                select(ClassificationRun.settings).where(ClassificationRun.id == run_id)
            )
            session.execute(
                update(ClassificationRun)
                .where(ClassificationRun.id == run_id, ClassificationRun.status == "running")
                .values(
                    status="failed",
                    finished_at=utcnow(),
                    error=message,
                    settings={**(base or {}), "notes": notes, "skipped": skipped},
                )
                .execution_options(synchronize_session=False)
            )
    except Exception:
        log.exception("refresh run %s: could not record its failure", run_id)
