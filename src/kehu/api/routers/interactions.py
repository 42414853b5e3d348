"""Interactions with customers: calls, visits, WeChat, e-mail, complaints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kehu.api.deps import CurrentUser, SessionDep
from kehu.api.schemas.common import ERRORS, Key, RowId, UtcDateTime
from kehu.api.schemas.followups import (
    InteractionIn,
    InteractionKind,
    InteractionOut,
    InteractionPage,
    InteractionPatch,
)
from kehu.services import followups
from kehu.services.paging import MAX_PAGE_SIZE

router = APIRouter(prefix="/interactions", tags=["follow-ups"], responses=ERRORS)


@router.get("", response_model=InteractionPage)
def list_interactions(
    actor: CurrentUser,
    session: SessionDep,
    customer_id: Annotated[Key | None, Query()] = None,
    kind: Annotated[InteractionKind | None, Query()] = None,
    since: Annotated[UtcDateTime | None, Query()] = None,
    until: Annotated[UtcDateTime | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> InteractionPage:
    """Interactions of the user's customers, newest first."""
    items, total = followups.list_interactions(
        session,
        actor=actor,
        code=customer_id,
        kind=kind,
        since=since,
        until=until,
        page=page,
        page_size=page_size,
    )
    return InteractionPage(items=items, total=total, page=page, page_size=page_size)


@router.post("", response_model=InteractionOut, status_code=201)
def record_interaction(
    body: InteractionIn, actor: CurrentUser, session: SessionDep
) -> InteractionOut:
    """Record an interaction; with ``task_id`` and ``complete_task`` it closes that task."""
    values = body.model_dump(exclude={"customer_id"})
    got = followups.record_interaction(session, actor=actor, code=body.customer_id, **values)
    return InteractionOut(**got)


@router.get("/{interaction_id}", response_model=InteractionOut)
def get_interaction(interaction_id: RowId, actor: CurrentUser, session: SessionDep):
    return InteractionOut(
        **followups.get_interaction(session, actor=actor, interaction_id=interaction_id)
    )


@router.patch("/{interaction_id}", response_model=InteractionOut)
def update_interaction(
    interaction_id: RowId, body: InteractionPatch, actor: CurrentUser, session: SessionDep
) -> InteractionOut:
    """Change the notes, outcome or kind; each change goes to the audit log."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("kind", "") is None:
        changes.pop("kind")
    got = followups.update_interaction(
        session, actor=actor, interaction_id=interaction_id, **changes
    )
    return InteractionOut(**got)
