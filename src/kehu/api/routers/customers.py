"""Customers: list with filters, export, 360 view, changes, tags, consents, personal data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field

from kehu.api.deps import CurrentUser, SessionDep, SettingsDep
from kehu.api.schemas.common import ERRORS, EXPORT_FILE, Text, with_utc
from kehu.api.schemas.customers import (
    AnonymiseIn,
    ConsentIn,
    ConsentOut,
    Customer360,
    CustomerFields,
    CustomerIn,
    CustomerPageOut,
    TagsIn,
)
from kehu.names import CLASS_COLUMNS
from kehu.services import customers, privacy
from kehu.services.paging import MAX_PAGE_SIZE

router = APIRouter(prefix="/customers", tags=["customers"], responses=ERRORS)

CustomerId = Annotated[Text(64, 1), Path(description="the customer id of the source system")]
Classes = Annotated[list[Text(64)] | None, Query()]


@dataclass
class ListFilters:
    """The filters shared by the list and the export."""

    rfm8: Classes = None
    segment: Classes = None
    freq_tier: Classes = None
    spend_tier: Classes = None
    abc: Classes = None
    lifecycle: Classes = None
    grade: Annotated[list[Annotated[int, Field(ge=0, le=10_000)]] | None, Query()] = None
    region: Annotated[Text(64) | None, Query()] = None
    channel: Annotated[Text(64) | None, Query()] = None
    rep: Annotated[Text(100) | None, Query(description="sales rep name")] = None
    tier: Annotated[Text(32) | None, Query(description="loyalty tier")] = None
    tag: Annotated[list[Text(64)] | None, Query(description="all given tags")] = None
    filter: Annotated[
        Text(2000) | None,
        Query(description="safe filter language, e.g. orders >= 4 and region = '浙江省'"),
    ] = None
    sort: Annotated[
        Text(200) | None, Query(description="column, '-' for descending, comma-separated")
    ] = None

    def kwargs(self) -> dict[str, Any]:
        classes = {name: getattr(self, name) for name in CLASS_COLUMNS if getattr(self, name)}
        return {
            "classes": classes,
            "region": self.region,
            "channel": self.channel,
            "rep": self.rep,
            "tier": self.tier,
            "tags": self.tag,
            "filter": self.filter,
            "sort": self.sort,
        }


Filters = Annotated[ListFilters, Depends()]


@router.get("", response_model=CustomerPageOut)
def list_customers(
    actor: CurrentUser,
    session: SessionDep,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> CustomerPageOut:
    """Customers with their current classes; filters combine with *and*."""
    got = customers.list_customers(
        session, actor=actor, page=page, page_size=page_size, **filters.kwargs()
    )
    return CustomerPageOut(items=got.items, total=got.total, page=got.page, page_size=got.page_size)


@router.get(
    "/export",
    response_class=Response,
    responses=EXPORT_FILE,
)
def export_customers(
    actor: CurrentUser,
    session: SessionDep,
    filters: Filters,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    """The filtered list as a CSV (UTF-8 with BOM) or Excel file."""
    data, media = customers.export_customers(
        session, actor=actor, format=format, **filters.kwargs()
    )
    return Response(
        content=data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="customers.{format}"'},
    )


@router.post("", response_model=Customer360, status_code=201)
def create_customer(body: CustomerIn, actor: CurrentUser, session: SessionDep) -> Customer360:
    values = body.model_dump(exclude_none=True, exclude={"customer_id"})
    customers.create_customer(session, actor=actor, code=body.customer_id, **values)
    return Customer360(
        **with_utc(customers.customer_360(session, actor=actor, code=body.customer_id))
    )


@router.get("/{customer_id}", response_model=Customer360)
def customer_360(
    customer_id: CustomerId,
    actor: CurrentUser,
    session: SessionDep,
    lang: Annotated[Literal["zh", "en"], Query()] = "zh",
) -> Customer360:
    """Profile, classes with explanations, scores, orders, follow-ups, feedback, points."""
    data = customers.customer_360(session, actor=actor, code=customer_id, lang=lang)
    return Customer360(**with_utc(data))


@router.patch("/{customer_id}", response_model=Customer360)
def update_customer(
    customer_id: CustomerId, body: CustomerFields, actor: CurrentUser, session: SessionDep
) -> Customer360:
    """Change the given fields (others stay); each change goes to the audit log."""
    customers.update_customer(
        session, actor=actor, code=customer_id, **body.model_dump(exclude_unset=True)
    )
    return Customer360(**with_utc(customers.customer_360(session, actor=actor, code=customer_id)))


@router.put("/{customer_id}/tags", response_model=list[str])
def set_tags(
    customer_id: CustomerId, body: TagsIn, actor: CurrentUser, session: SessionDep
) -> list[str]:
    tags = customers.set_tags(session, actor=actor, code=customer_id, tags=body.tags)
    return tags


@router.get("/{customer_id}/consents", response_model=list[ConsentOut])
def consent_history(
    customer_id: CustomerId, actor: CurrentUser, session: SessionDep
) -> list[ConsentOut]:
    """Every consent record, oldest first; the latest per purpose is in force."""
    rows = privacy.consent_history(session, actor=actor, code=customer_id)
    return [ConsentOut.model_validate(r) for r in rows]


@router.post("/{customer_id}/consents", response_model=ConsentOut, status_code=201)
def record_consent(
    customer_id: CustomerId, body: ConsentIn, actor: CurrentUser, session: SessionDep
) -> ConsentOut:
    """Record a consent, or its withdrawal with ``granted: false``."""
    row = privacy.record_consent(session, actor=actor, code=customer_id, **body.model_dump())
    return ConsentOut.model_validate(row)


@router.get("/{customer_id}/personal-data", response_model=dict[str, Any])
def export_person(
    customer_id: CustomerId, actor: CurrentUser, session: SessionDep, settings: SettingsDep
) -> Any:
    """Everything stored about this customer (a PIPL access request), and where it lies."""
    data = privacy.export_person(
        session, actor=actor, code=customer_id, workspace=settings.workspace
    )
    return data


@router.post("/{customer_id}/anonymise", status_code=204)
def anonymise(
    customer_id: CustomerId,
    body: AnonymiseIn,
    actor: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> None:
    """Erase the personal data on request, from every table; orders and classes stay."""
    privacy.anonymise_person(
        session, actor=actor, code=customer_id, note=body.note, workspace=settings.workspace
    )
    # the one commit in a handler: old row versions can only be dropped once the erasure is in
    session.commit()
    privacy.drop_old_versions(session.get_bind())
