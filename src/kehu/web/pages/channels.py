"""Channels and distributors (渠道与经销商) against their targets, with a drill-down."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kehu.web.render import render
from kehu.web.session import PageUser

router = APIRouter(include_in_schema=False)


@router.get("/channels", name="web_channels")
def page(request: Request, actor: PageUser) -> Response:
    return render(request, "base.html", actor=actor)
