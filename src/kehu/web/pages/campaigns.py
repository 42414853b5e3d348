"""Campaigns (营销活动): audience from classes or a filter, control group, launch, uplift."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kehu.web.render import render
from kehu.web.session import PageUser

router = APIRouter(include_in_schema=False)


@router.get("/campaigns", name="web_campaigns")
def page(request: Request, actor: PageUser) -> Response:
    return render(request, "base.html", actor=actor)
