"""The one place where a page's changes are committed.

Every page that changes something writes inside ``with changes(request) as db:``: the
block's writes are committed together when it ends, and rolled back when it raises, so a
refused form (the service raises, the handler catches it outside the block and shows the
form again) has written nothing::

    try:
        with changes(request) as db:
            followups.create_task(db, actor=actor, code=code, title=title)
    except SchemaError as exc:
        return refused(checked.failed(exc))
    return done(...)

Pages that only read open ``request.app.state.sessions()``; closing it rolls back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request


@contextmanager
def changes(request: Request) -> Iterator[Any]:
    """A store session whose writes are committed at the end of the block, or not at all."""
    with request.app.state.sessions() as db:
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        db.commit()
