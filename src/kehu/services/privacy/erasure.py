"""Erasure of one person's data on request (PIPL article 47).

And, after its commit, dropping the old row versions that still hold the values.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Engine, delete, select, update
from sqlalchemy.orm import Session

from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.privacy.mentions import _erase_keys, _known_values, _mentions, _Needle, _scrub
from kehu.services.privacy.places import (
    DELETED_ON_ERASURE,
    _by_table,
    _link,
    _Person,
    _personal_keys,
    _table,
    personal_tables,
)
from kehu.services.privacy.workspace import (
    _labelled_feedback,
    _retrain_category_model,
    _scrub_workspace,
)
from kehu.services.scope import scoped_customer
from kehu.store.models import (
    CONSENT_PURPOSES,
    Consent,
    Customer,
    utcnow,
)

log = logging.getLogger("kehu.privacy")


@dataclasses.dataclass
class Erasure:
    """What an erasure changed: rows per table, and what became of the category model."""

    rows: dict[str, int] = dataclasses.field(default_factory=dict)
    #: ``None``, ``"retrained"`` or ``"deleted"`` (it had learnt from the person's texts)
    category_model: str | None = None
    #: workspace files rewritten without the person's values
    files: list[str] = dataclasses.field(default_factory=list)

    @property
    def tables(self) -> list[str]:
        return sorted(self.rows)

    def _count(self, table: str, n: int = 1) -> None:
        if n:
            self.rows[table] = self.rows.get(table, 0) + n


def anonymise_person(
    session: Session,
    *,
    actor: Actor,
    code: str,
    note: str | None = None,
    workspace: Path | None = None,
) -> Erasure:
    """Erase one customer's personal data on request; figures stay, anonymous.

    On the person's rows every personal column is cleared (contacts are
    deleted; the audit rows keep who changed which field when, with the values
    replaced by ``[erased]``); in every other row, the person's names, phone
    numbers, e-mail addresses and WeChat ids -- the current ones and every
    earlier one the audit log knew -- are replaced by ``[erased]`` wherever
    they appear in a text.  Marketing is switched off and every consent
    withdrawn.  With ``workspace``, a feedback category model that had learnt
    from the erased texts is retrained without them (deleted when too few
    labels remain), and the load rejects files there are rewritten without the
    person's values.  The customer id stays (orders refer to it); the audit log
    keeps that the erasure happened, not what was erased.

    Call :func:`drop_old_versions` after the commit, so that the database
    files do not keep the old values in freed space.
    """
    require(actor, "privacy.manage")
    c = scoped_customer(session, actor=actor, code=code, for_update=True)
    session.flush()
    person = _Person(c.id, c.code)
    needles = _known_values(session, person)
    result = Erasure()
    labelled = _labelled_feedback(session, person, needles)
    _clear_own_rows(session, person, needles, result)
    _scrub_mentions(session, needles, result)
    _withdraw_consents(session, actor, person)
    if workspace is not None:
        if labelled:
            result.category_model = _retrain_category_model(session, actor, workspace)
        result.files = _scrub_workspace(Path(workspace), person, needles)
    audit.record(
        session,
        actor=actor,
        action="privacy.anonymise",
        entity="customer",
        entity_id=code,
        changes={
            "rows": dict(sorted(result.rows.items())),
            "category_model": result.category_model,
            "files": len(result.files),
        },
        note=note,
    )
    return result


def _clear_own_rows(
    session: Session, person: _Person, needles: list[_Needle], result: Erasure
) -> None:
    """Clear every personal column on the person's own rows (contacts are deleted)."""
    keys = _personal_keys()
    for name, cols in _by_table(("field", "text")).items():
        table = _table(name)
        where = _link(table, person)
        if where is None:  # no rows of one person (a test keeps field columns linked)
            continue
        (pk,) = table.primary_key.columns
        if name in DELETED_ON_ERASURE:
            result._count(name, session.execute(delete(table).where(where)).rowcount or 0)
            continue
        for row in session.execute(select(pk, *[table.c[x.column] for x in cols]).where(where)):
            values = {}
            for col in cols:
                old = row._mapping[col.column]
                if isinstance(table.c[col.column].type, JSON):
                    new = _erase_keys(old, keys | set(col.keys), col.erased)
                    new = _scrub(new, needles)
                elif col.kind == "text" and old is None:
                    new = None
                else:
                    new = col.erased
                if new != old:
                    values[col.column] = new
            if values:
                session.execute(update(table).where(pk == row[0]).values(**values))
                result._count(name)


def _scrub_mentions(session: Session, needles: list[_Needle], result: Erasure) -> None:
    """Replace the person's values in every other text."""
    for name, col, key, value in list(_mentions(session, needles)):
        table = _table(name)
        (pk,) = table.primary_key.columns
        session.execute(update(table).where(pk == key).values({col.column: _scrub(value, needles)}))
        result._count(name)


def _withdraw_consents(session: Session, actor: Actor, person: _Person) -> None:
    """Mark the customer anonymised, switch marketing off and withdraw every consent."""
    session.execute(
        update(Customer)
        .where(Customer.id == person.id)
        .values(no_personalised_marketing=True, anonymised_at=utcnow())
    )
    session.flush()
    session.expire_all()  # the rows changed under the ORM
    c = session.get(Customer, person.id)
    for purpose in CONSENT_PURPOSES:
        c.consents.append(
            Consent(purpose=purpose, granted=False, source="erasure", recorded_by=actor.user_id)
        )
    session.flush()


def drop_old_versions(
    engine: Engine, tables: Iterable[str] | None = None, *, full: bool = False
) -> dict[str, Any]:
    """After an erasure's commit: let the database files forget the old values.

    SQLite overwrites freed space itself (``secure_delete``, set on every
    connection); the write-ahead log still holds the old page images until a
    checkpoint, so it is checkpointed and truncated.  PostgreSQL keeps old row
    versions until ``VACUUM``, run here on ``tables`` (default: every table
    with a personal column, since a value changed before the erasure left an
    old version behind wherever it was); it does not
    zero the freed space inside pages, which only ``full=True`` (``VACUUM
    FULL``: the tables are rewritten, and locked meanwhile) removes -- for a
    maintenance window, with the tables the erasure's audit row lists.
    Failures are logged and returned, not raised: the erasure is committed.
    """
    from kehu.store.engine import checkpoint_wal, vacuum_tables

    try:
        if engine.dialect.name == "sqlite":
            got = checkpoint_wal(engine)
            if got["busy"]:
                log.warning("after an erasure, the SQLite log was not checkpointed: readers busy")
            return {"checkpoint": got}
        if engine.dialect.name == "postgresql":
            if tables is None:
                tables = personal_tables()
            return {"vacuumed": vacuum_tables(engine, sorted(set(tables)), full=full)}
    except Exception as exc:  # reported, not raised: the erasure stands
        log.warning("after an erasure, the old row versions were not dropped: %s", exc)
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {}
