"""Tasks: follow-ups with an owner and a due date, overdue lists and revisit rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kehu.api.deps import CurrentUser, SessionDep
from kehu.api.schemas.common import ERRORS, MAX_ID, Date, Key, RowId
from kehu.api.schemas.followups import (
    OverdueGroup,
    RevisitRuleOut,
    TaskIn,
    TaskOut,
    TaskPage,
    TaskPatch,
    TaskStatus,
)
from kehu.services import followups
from kehu.services.paging import MAX_PAGE_SIZE

router = APIRouter(prefix="/tasks", tags=["follow-ups"], responses=ERRORS)


@router.get("", response_model=TaskPage)
def list_tasks(
    actor: CurrentUser,
    session: SessionDep,
    status: Annotated[TaskStatus | None, Query()] = None,
    owner_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    customer_id: Annotated[Key | None, Query()] = None,
    overdue: Annotated[bool, Query(description="only open tasks past their due date")] = False,
    due_before: Annotated[Date | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> TaskPage:
    """Tasks on the user's customers, earliest due first."""
    items, total = followups.list_tasks(
        session,
        actor=actor,
        status=status,
        owner_id=owner_id,
        code=customer_id,
        overdue=overdue,
        due_before=due_before,
        page=page,
        page_size=page_size,
    )
    return TaskPage(items=items, total=total, page=page, page_size=page_size)


@router.post("", response_model=TaskOut, status_code=201)
def create_task(body: TaskIn, actor: CurrentUser, session: SessionDep) -> TaskOut:
    """A manual task; the owner defaults to the customer's sales rep."""
    got = followups.create_task(
        session, actor=actor, code=body.customer_id, **body.model_dump(exclude={"customer_id"})
    )
    return TaskOut(**got)


@router.get("/overdue", response_model=list[OverdueGroup])
def overdue(
    actor: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="tasks listed per owner")] = 100,
) -> list[OverdueGroup]:
    """Open tasks past their due date, per owner (a rep sees their own customers' only)."""
    return [
        OverdueGroup(**g) for g in followups.overdue_by_owner(session, actor=actor, limit=limit)
    ]


@router.get("/revisit-rules", response_model=list[RevisitRuleOut])
def revisit_rules(actor: CurrentUser) -> list[RevisitRuleOut]:
    """The rules that create tasks after each refresh (class -> kind within days)."""
    return [RevisitRuleOut(**r.to_dict()) for r in followups.DEFAULT_REVISIT_RULES]


@router.get("/{task_id}", response_model=TaskOut)
def get_task(task_id: RowId, actor: CurrentUser, session: SessionDep) -> TaskOut:
    return TaskOut(**followups.get_task(session, actor=actor, task_id=task_id))


@router.patch("/{task_id}", response_model=TaskOut)
def update_task(
    task_id: RowId, body: TaskPatch, actor: CurrentUser, session: SessionDep
) -> TaskOut:
    """Change title, kind, due date, owner or status (transitions are checked: 409)."""
    changes = body.model_dump(exclude_unset=True)
    for key in ("title", "status", "owner_id"):
        if key in changes and changes[key] is None:
            changes.pop(key)
    got = followups.update_task(session, actor=actor, task_id=task_id, **changes)
    return TaskOut(**got)
