"""Classes (客户分类): sizes, revenue shares, profiles, playbook, migration and thresholds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kehu.web.render import render
from kehu.web.session import PageUser

router = APIRouter(include_in_schema=False)


@router.get("/classes", name="web_classes")
def page(request: Request, actor: PageUser) -> Response:
    return render(request, "base.html", actor=actor)
