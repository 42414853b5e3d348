"""Runs and reports (分类运行): kept runs, starting a refresh, progress, downloads."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kehu.web.render import render
from kehu.web.session import PageUser

router = APIRouter(include_in_schema=False)


@router.get("/runs", name="web_runs")
def page(request: Request, actor: PageUser) -> Response:
    return render(request, "base.html", actor=actor)
