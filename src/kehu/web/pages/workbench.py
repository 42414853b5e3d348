"""The workbench (工作台): a rep's follow-ups and alerts; a manager's KPIs and targets."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kehu.web.render import render
from kehu.web.session import PageUser

router = APIRouter(include_in_schema=False)


@router.get("/", name="web_home")
def page(request: Request, actor: PageUser) -> Response:
    return render(request, "base.html", actor=actor)
