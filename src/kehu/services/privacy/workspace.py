"""Files in the workspace that quote the person.

The load rejects files, and the feedback category model that may have learnt from their texts.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kehu.exceptions import SchemaError
from kehu.services.access import Actor
from kehu.services.privacy.mentions import _Needle, _scrub
from kehu.services.privacy.places import ERASED, WORKSPACE_FILES, _Person
from kehu.store.models import (
    Feedback,
)
from kehu.writers import write_record_rows


def _workspace_files(
    workspace: Path, session: Session, person: _Person, needles: list[_Needle]
) -> list[dict[str, str]]:
    """The workspace files an erasure would rewrite, with why."""
    from kehu.services.feedback import MODEL_FILE

    out = [
        {"file": path.name, "holds": WORKSPACE_FILES[pattern]}
        for pattern in WORKSPACE_FILES
        for path in sorted(workspace.glob(pattern))
        if _scrubbed_rejects(path, person.code, needles) is not None
    ]
    if (workspace / MODEL_FILE).is_file() and _labelled_feedback(session, person, needles):
        holds = "the feedback category model, which may have learnt words of the person's texts"
        out.append({"file": MODEL_FILE.as_posix(), "holds": holds})
    return out


def _scrub_workspace(workspace: Path, person: _Person, needles: list[_Needle]) -> list[str]:
    """Rewrite the workspace files that quote the person (:data:`WORKSPACE_FILES`)."""
    changed = []
    for pattern in WORKSPACE_FILES:
        for path in sorted(workspace.glob(pattern)):
            if _scrub_rejects_file(path, person.code, needles):
                changed.append(path.name)
    return changed


def _scrubbed_rejects(path: Path, code: str, needles: list[_Needle]) -> list[list[str]] | None:
    """A rejects CSV's rows without the person (``None``: it does not quote them)."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    if not rows:
        return None
    header = rows[0]
    key, value = (header.index(c) if c in header else None for c in ("key", "value"))
    out = [header]
    for row in rows[1:]:
        new = [_scrub(cell, needles) for cell in row]
        if key is not None and value is not None and len(row) == len(header) and row[key] == code:
            new[value] = ERASED  # a cell of the person's row: a name, a number, a date ...
        out.append(new)
    return None if out == rows else out


def _scrub_rejects_file(path: Path, code: str, needles: list[_Needle]) -> bool:
    """Rewrite a rejects CSV without the person: their rows' cells and their values anywhere."""
    out = _scrubbed_rejects(path, code, needles)
    if out is None:
        return False
    write_record_rows(path, out)
    return True


def _labelled_feedback(session: Session, person: _Person, needles: list[_Needle]) -> bool:
    """Whether a text the category model may have learnt from is about to change."""
    labelled = (Feedback.category_source == "user") & Feedback.text.is_not(None)
    if session.scalar(select(Feedback.id).where(labelled, Feedback.customer_id == person.id)):
        return True
    patterns = sorted({p for n in needles for p in n.patterns})
    if not patterns:
        return False
    hit = or_(*[Feedback.text.ilike(p, escape="!") for p in patterns])
    return session.scalar(select(Feedback.id).where(labelled, hit).limit(1)) is not None


def _retrain_category_model(session: Session, actor: Actor, workspace: Path) -> str | None:
    """Retrain the workspace's category model on the scrubbed labels, or delete it."""
    from kehu.services import feedback

    if not (Path(workspace) / feedback.MODEL_FILE).is_file():
        return None
    try:
        feedback.train_category_model(session, actor=actor, workspace=workspace)
        return "retrained"
    except SchemaError:  # too few labels left: back to the lexicon categories
        feedback.delete_category_model(workspace, actor=actor)
        return "deleted"
