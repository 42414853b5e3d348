"""Campaigns: create, build the audience, list members, export, send, launch, report."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from kehu.api.deps import CurrentUser, SessionDep, SettingsDep
from kehu.api.schemas.campaigns import (
    AudienceOut,
    CampaignIn,
    CampaignOut,
    LaunchIn,
    MemberOut,
    MemberPageOut,
    ReportOut,
    SendIn,
    SendOut,
)
from kehu.api.schemas.common import ERRORS, EXPORT_FILE, RowId
from kehu.services import campaigns

router = APIRouter(prefix="/campaigns", tags=["campaigns"], responses=ERRORS)


def _out(c) -> CampaignOut:
    return CampaignOut(**campaigns.campaign_dict(c))


@router.post("", response_model=CampaignOut, status_code=201)
def create(body: CampaignIn, actor: CurrentUser, session: SessionDep) -> CampaignOut:
    """A draft campaign (admin, manager); the target's filter is checked now."""
    values = body.model_dump(exclude={"target"})
    target = body.target.model_dump(exclude_none=True)
    c = campaigns.create_campaign(session, actor=actor, target=target, **values)
    return _out(c)


@router.get("", response_model=list[CampaignOut])
def list_all(
    actor: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[CampaignOut]:
    return [
        _out(c) for c in campaigns.list_campaigns(session, actor=actor, limit=limit, offset=offset)
    ]


@router.get("/{campaign_id}", response_model=CampaignOut)
def get(campaign_id: RowId, actor: CurrentUser, session: SessionDep) -> CampaignOut:
    return _out(campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id))


@router.post("/{campaign_id}/audience", response_model=AudienceOut)
def audience(campaign_id: RowId, actor: CurrentUser, session: SessionDep) -> AudienceOut:
    """Select, exclude (consent, no personalised marketing), split into treatment and control."""
    got = campaigns.build_audience(session, actor=actor, campaign_id=campaign_id)
    return AudienceOut(**got)


@router.get("/{campaign_id}/members", response_model=MemberPageOut)
def members(
    campaign_id: RowId,
    actor: CurrentUser,
    session: SessionDep,
    group: Annotated[Literal["treatment", "control"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> MemberPageOut:
    """Members with group and delivery status; personal data masked by role."""
    items, total = campaigns.list_members(
        session, actor=actor, campaign_id=campaign_id, group=group, limit=limit, offset=offset
    )
    return MemberPageOut(items=[MemberOut(**i) for i in items], total=total)


@router.get(
    "/{campaign_id}/export",
    response_class=Response,
    responses=EXPORT_FILE,
)
def export(
    campaign_id: RowId,
    actor: CurrentUser,
    session: SessionDep,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    group: Annotated[Literal["treatment", "control", "all"], Query()] = "treatment",
) -> Response:
    """The member list as CSV (UTF-8 with BOM) or Excel."""
    data, media = campaigns.export_members(
        session, actor=actor, campaign_id=campaign_id, format=format, group=group
    )
    return Response(
        content=data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.{format}"'},
    )


@router.post("/{campaign_id}/send", response_model=SendOut)
def send(
    campaign_id: RowId,
    body: SendIn,
    actor: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> SendOut:
    """POST the treatment members not yet sent to the webhook; re-sending retries the rest.

    With ``KEHU_WEBHOOK_SECRET`` set, every request is signed (``X-Kehu-Signature``).
    """
    got = campaigns.send_to_webhook(
        session,
        actor=actor,
        campaign_id=campaign_id,
        batch_size=body.batch_size,
        signing_key=settings.webhook_secret,
    )
    return SendOut(**got)


@router.post("/{campaign_id}/launch", response_model=CampaignOut)
def launch(
    campaign_id: RowId, body: LaunchIn, actor: CurrentUser, session: SessionDep
) -> CampaignOut:
    """Mark an exported campaign as sent: starts the response window."""
    c = campaigns.launch(session, actor=actor, campaign_id=campaign_id, at=body.launched_at)
    return _out(c)


@router.get("/{campaign_id}/report", response_model=ReportOut)
def report(
    campaign_id: RowId,
    actor: CurrentUser,
    session: SessionDep,
    confidence: Annotated[float, Query(gt=0.5, lt=1)] = 0.95,
    method: Annotated[Literal["newcombe", "wald"], Query()] = "newcombe",
) -> ReportOut:
    """Conversion and revenue per group with the uplift and its confidence interval."""
    return ReportOut(
        **campaigns.report(
            session, actor=actor, campaign_id=campaign_id, confidence=confidence, method=method
        )
    )
