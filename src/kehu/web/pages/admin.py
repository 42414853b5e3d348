"""Administration: users and roles, the audit log, data requests."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kehu.web.render import render
from kehu.web.session import PageUser

router = APIRouter(include_in_schema=False)


@router.get("/admin", name="web_admin")
def page(request: Request, actor: PageUser) -> Response:
    return render(request, "base.html", actor=actor)
