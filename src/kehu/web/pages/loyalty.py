"""Loyalty (会员积分): tiers and rules in force, a member's ledger, redemption, adjustments."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kehu.web.render import render
from kehu.web.session import PageUser

router = APIRouter(include_in_schema=False)


@router.get("/loyalty", name="web_loyalty")
def page(request: Request, actor: PageUser) -> Response:
    return render(request, "base.html", actor=actor)
