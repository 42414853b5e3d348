"""The customer list (filters, sort, pages, export) and the customer page (客户详情)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from kehu import i18n
from kehu.exceptions import FilterSyntaxError, SchemaError
from kehu.services import customers
from kehu.web.render import render
from kehu.web.session import PageUser, language

router = APIRouter(include_in_schema=False)
#: classifiers offered as list filters, with their known classes in display order
FILTER_CLASSES = ("rfm8", "segment", "freq_tier", "spend_tier", "abc", "lifecycle")
PAGE_SIZES = (25, 50, 100)
LIST_COLUMNS = ("customer_id", "name", "region", "channel", "sales_rep", "rfm8", "lifecycle")
SORTS = ("customer_id", "-monetary", "-orders", "recency_days", "-recency_days", "name")
Short = Annotated[str | None, Query(max_length=200)]


@dataclass(frozen=True)
class ListFilters:
    """The list's filters as typed in the form (``given``) and as the list service takes them."""

    given: dict[str, str | None]
    chosen: dict[str, Any]


def list_filters(
    request: Request,
    region: Short = None,
    channel: Short = None,
    rep: Short = None,
    tier: Short = None,
    tag: Short = None,
    filter: Annotated[str | None, Query(max_length=1000)] = None,
) -> ListFilters:
    """The filters of the list and its export, read once: classes (repeatable), fields, a tag."""
    given = {"region": region, "channel": channel, "rep": rep, "tier": tier, "filter": filter}
    classes = {
        name: [v for v in request.query_params.getlist(name) if v][:20] for name in FILTER_CLASSES
    }
    chosen = {
        "classes": {k: v for k, v in classes.items() if v},
        **{k: v or None for k, v in given.items()},
        "tags": [tag] if tag else None,
    }
    return ListFilters(given=given | {"tag": tag}, chosen=chosen)


Filters = Annotated[ListFilters, Depends(list_filters)]


@router.get("/customers", name="web_customers")
def customer_list(
    request: Request,
    actor: PageUser,
    filters: Filters,
    sort: Annotated[str, Query(max_length=100)] = "customer_id",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    chosen = filters.chosen
    error, result = None, None
    with request.app.state.sessions() as db:
        try:
            result = customers.list_customers(
                db,
                actor=actor,
                sort=sort if sort in SORTS else None,
                page=page,
                page_size=page_size,
                **chosen,
            )
        except FilterSyntaxError as exc:
            error = {"field": "filter", "position": exc.position, "reason": exc.reason}
        except SchemaError as exc:
            error = {"field": "filter", "position": None, "reason": str(exc)}
    options = {name: i18n.class_order(name) for name in FILTER_CLASSES}
    return render(
        request,
        "customers/list.html",
        status_code=200 if error is None else 422,
        actor=actor,
        result=result,
        error=error,
        chosen=chosen,
        given=filters.given,
        options=options,
        columns=LIST_COLUMNS,
        sort=sort,
        sorts=SORTS,
        page_size=page_size,
        page_sizes=PAGE_SIZES,
        query=request.url.query,
    )


@router.get("/customers/export", name="web_customer_export")
def customer_export(
    request: Request,
    actor: PageUser,
    filters: Filters,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    """The filtered list as a file: the same export service as the API (cells never formulas)."""
    with request.app.state.sessions() as db:
        data, media = customers.export_customers(db, actor=actor, format=format, **filters.chosen)
        db.commit()
    name = f"customers.{format}"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/customers/{code}", name="web_customer")
def customer_page(
    request: Request, actor: PageUser, code: Annotated[str, Path(max_length=64)]
) -> Response:
    with request.app.state.sessions() as db:
        data = customers.customer_360(db, actor=actor, code=code, lang=language(request))
    return render(request, "customers/detail.html", actor=actor, c=data, code=code)
