"""Feedback (客户反馈) and surveys: inbox, category corrections, reports, NPS and CSAT."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kehu.web.render import render
from kehu.web.session import PageUser

router = APIRouter(include_in_schema=False)


@router.get("/feedback", name="web_feedback")
def page(request: Request, actor: PageUser) -> Response:
    return render(request, "base.html", actor=actor)
