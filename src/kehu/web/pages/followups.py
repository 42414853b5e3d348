"""Follow-ups (回访): my open tasks (overdue, today, upcoming), overdue tasks per rep for
managers and the tasks of a chosen rep, completing a task with an outcome."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kehu.services import followups
from kehu.services.access import Actor, require
from kehu.web import texts
from kehu.web.forms import Checked, Posted, blank, done
from kehu.web.pages.customers import complete_task
from kehu.web.render import render
from kehu.web.session import PageUser, language

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
WHEN = ("all", "overdue", "today", "week")
When = Literal["all", "overdue", "today", "week"]
#: ``me``, ``all`` or a user id
Owner = Annotated[str | None, Query(max_length=20, pattern=r"^(me|all|\d{1,12})$")]


def _owner_id(actor: Actor, owner: str) -> int | None:
    if owner == "me":
        return actor.user_id
    return None if owner == "all" else int(owner)


def _page(
    request: Request,
    actor: Actor,
    *,
    when: str = "all",
    owner: str | None = None,
    customer: str | None = None,
    page: int = 1,
    failed: Checked[Any] | None = None,
    status_code: int = 200,
) -> Response:
    require(actor, "followups.write")
    lang = language(request)
    today = dt.datetime.now(dt.UTC).date()
    # a rep's list is their own tasks; those who see every customer start with everyone's
    owner = owner or ("me" if actor.is_rep else "all")
    owner_id = _owner_id(actor, owner)
    chosen: dict[str, Any] = {"owner_id": owner_id, "code": customer or None, "today": today}
    due_before = {"today": today + dt.timedelta(days=1), "week": today + dt.timedelta(days=8)}
    with request.app.state.sessions() as db:
        items, total = followups.list_tasks(
            db,
            actor=actor,
            status="open",
            overdue=when == "overdue",
            due_before=due_before.get(when),
            page=page,
            page_size=PAGE_SIZE,
            **chosen,
        )
        _, overdue = followups.list_tasks(
            db, actor=actor, status="open", overdue=True, page_size=1, **chosen
        )
        _, due_today = followups.list_tasks(
            db, actor=actor, status="open", due_before=due_before["today"], page_size=1, **chosen
        )
        groups = []
        if actor.sees_all_customers:
            groups = followups.overdue_by_owner(db, actor=actor, today=today, limit=1)
    names = {g["owner_id"]: g["rep_name"] or g["username"] for g in groups}
    if owner == "me":
        heading = texts.text("web_my_tasks", lang)
    elif owner == "all":
        heading = texts.text("web_all_tasks", lang)
    else:
        who = names.get(owner_id) or f"#{owner_id}"
        heading = texts.text("web_tasks_of", lang).format(who=who)
    owners = [("me", texts.text("web_owner_me", lang)), ("all", texts.text("web_owner_all", lang))]
    owners += [(str(g["owner_id"]), names[g["owner_id"]]) for g in groups if g["owner_id"]]
    if owner not in {v for v, _ in owners}:
        owners.append((owner, heading))
    return render(
        request,
        "followups/page.html",
        status_code=status_code,
        actor=actor,
        items=items,
        total=total,
        overdue=overdue,
        due_today=due_today,
        groups=groups,
        heading=heading,
        owners=owners,
        owner=owner,
        when=when,
        whens=WHEN,
        customer=customer or "",
        page=page,
        pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        today=today,
        failed=failed,
        fresh=blank(request, kind="call"),
        kind_options=[(k, texts.text(f"web_kind_{k}", lang)) for k in followups.INTERACTION_KINDS],
    )


@router.get("/followups", name="web_followups")
def tasks_page(
    request: Request,
    actor: PageUser,
    when: When = "all",
    owner: Owner = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _page(request, actor, when=when, owner=owner, customer=customer, page=page)


@router.post("/followups/complete", name="web_followups_complete")
def complete(request: Request, actor: PageUser, form: Posted) -> Response:
    """Complete a task with its outcome (an interaction that closes it, one transaction)."""
    checked = complete_task(request, actor, form, None)
    if not checked.ok:
        return _page(request, actor, failed=checked, status_code=422)
    return done(request, "web_followups", "task_completed")
