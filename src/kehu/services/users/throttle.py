"""Attempt counting for sign-in and password changes: one atomic ``UPDATE`` per key takes a slot."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kehu.exceptions import (
    RateLimitError,
)
from kehu.store.models import LoginThrottle

_THROTTLE = LoginThrottle.__table__


def _key_part(text: str) -> str:
    """A user name or address as it goes into a throttle key.

    Long or unprintable ones (any text can be sent) become a digest, so that
    every key fits the column and holds no NUL.
    """
    if len(text) <= 64 and text.isprintable() and "|" not in text:
        return text
    return "#" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _take_slots(
    session: Session, keys, now: dt.datetime, window: dt.timedelta
) -> dict[str, dt.datetime]:
    """Take one slot in every key and commit; :class:`RateLimitError` if one is full.

    Returns each key's window start, to give the slot back on success.
    """
    taken: dict[str, dt.datetime] = {}
    for key, limit in keys:
        ok, started = _take(session, key, limit, now, window)
        if not ok:
            session.rollback()  # gives back the slots taken in the keys before
            retry = max(math.ceil((started + window - now).total_seconds()), 1)
            raise RateLimitError(
                f"too many failed sign-ins; try again in {retry} s", retry_after=retry
            )
        taken[key] = started
    session.commit()  # the slots count in every session and process before the slow check
    return taken


def _take(
    session: Session, key: str, limit: int, now: dt.datetime, window: dt.timedelta
) -> tuple[bool, dt.datetime]:
    """Take a slot in ``key``: (taken?, the key's window start).

    One ``UPDATE`` both restarts an expired window and counts, so two requests
    cannot both see the same free slot (PostgreSQL re-checks the condition on
    the row a concurrent update left; SQLite writes one at a time).
    """
    t = _THROTTLE
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    expired = t.c.window_started_at <= now - window
    take = (
        update(t)
        .where(t.c.key == key, or_(expired, t.c.failures < limit))
        .values(
            failures=case((expired, 1), else_=t.c.failures + 1),
            window_started_at=case((expired, now), else_=t.c.window_started_at),
        )
        .returning(t.c.window_started_at)
    )
    for _ in range(3):  # the row may be purged between the insert and the update
        session.execute(
            insert(t)
            .values(key=key, failures=0, window_started_at=now)
            .on_conflict_do_nothing(index_elements=[t.c.key])
        )
        started = session.execute(take).scalar()
        if started is not None:
            return True, started
        started = session.scalar(select(t.c.window_started_at).where(t.c.key == key))
        if started is not None:
            return False, started
    return False, now


def _give_back(session: Session, keys, taken, now: dt.datetime, window: dt.timedelta) -> None:
    """After a success: clear the pair, give back the slot in the other keys, purge old rows.

    A slot is given back only within the window it was taken in.  The user key
    is not cleared: the owner signing in must not reset an attacker's count.
    """
    t = _THROTTLE
    (client_key, _), (pair_key, _), (user_key, _) = keys
    for key in (client_key, pair_key, user_key):  # the same order as the takes
        if key == pair_key:
            session.execute(delete(t).where(t.c.key == key))
            continue
        session.execute(
            update(t)
            .where(t.c.key == key, t.c.window_started_at == taken[key], t.c.failures > 0)
            .values(failures=t.c.failures - 1)
        )
    # rows long expired; rows another request holds are left for later (no lock waits)
    stale = (
        select(t.c.key)
        .where(t.c.window_started_at < now - 2 * window)
        .limit(1000)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(t).where(t.c.key.in_(stale)))
