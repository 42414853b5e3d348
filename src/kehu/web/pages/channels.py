"""Channels and distributors (渠道与经销商) against their targets, with a drill-down.

The numbers come from :func:`kehu.services.performance.group_table` with the signed-in Actor
(a rep sees their own customers only); each name links to the customer list filtered by it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kehu.services import performance
from kehu.web import charts, texts
from kehu.web.pages.workbench import chosen_month
from kehu.web.render import render
from kehu.web.session import PageUser, language

router = APIRouter(include_in_schema=False)
CHART_BARS = 20


def distributor_filter(name: str) -> str:
    """The customer list's filter for one distributor (quotes doubled, as the filter reads)."""
    return "distributor = '{}'".format(name.replace("'", "''"))


@router.get("/channels", name="web_channels")
def page(
    request: Request,
    actor: PageUser,
    month: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    lang = language(request)
    with request.app.state.sessions() as db:
        chosen, month_error = chosen_month(request, actor, db, month)
        channel = performance.group_table(db, actor=actor, dimension="channel", month=chosen)
        distributor = performance.group_table(
            db, actor=actor, dimension="distributor", month=chosen
        )
    shown = [r for r in channel["rows"] if r["name"] is not None][:CHART_BARS]
    names = [r["name"] for r in shown]
    figure = charts.figure(
        [
            charts.bar(names, [r["sales"] for r in shown], texts.text("web_wb_sales", lang)),
            charts.bar(
                names,
                [r["target_sales"] for r in shown],
                texts.text("web_wb_target_sales", lang),
            ),
        ],
        barmode="group",
    )
    customers = request.url_for("web_customers")
    return render(
        request,
        "channels/page.html",
        status_code=422 if month_error else 200,
        actor=actor,
        month=chosen,
        month_text=month if month_error else f"{chosen:%Y-%m}",
        month_error=month_error,
        channel=channel,
        distributor=distributor,
        figure=figure if shown else None,
        channel_link=lambda name: customers.include_query_params(channel=name),
        distributor_link=lambda name: customers.include_query_params(
            filter=distributor_filter(name)
        ),
    )
