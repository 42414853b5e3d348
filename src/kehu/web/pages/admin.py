"""Administration: users and roles, the audit log, data requests (export / anonymise).

Each section shows only to a role with its permission (``users.manage``: admins;
``audit.read`` and ``privacy.manage``: admins and managers); a forged post without it is
refused by the service (403).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints

from kehu.exceptions import ConflictError, KehuError, NotFoundError, SchemaError
from kehu.services import audit, privacy, users
from kehu.services.access import ROLE_PERMISSIONS, Actor, require
from kehu.web import texts
from kehu.web.forms import Checked, Posted, blank, done, validate
from kehu.web.render import render
from kehu.web.session import PageUser, language
from kehu.web.transaction import changes

router = APIRouter(include_in_schema=False)
AUDIT_PAGE = 50
ROLES = tuple(ROLE_PERMISSIONS)
Role = Literal["admin", "manager", "rep", "service", "analyst"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Short = Annotated[str | None, Query(max_length=64)]
#: what a section needs
SECTIONS = {"users": "users.manage", "audit": "audit.read", "privacy": "privacy.manage"}


def _page(
    request: Request,
    actor: Actor,
    forms: dict[str, Checked[Any]] | None = None,
    status: int = 200,
    entity: str | None = None,
    entity_id: str | None = None,
    page: int = 1,
) -> Response:
    allowed = {name for name, perm in SECTIONS.items() if actor.can(perm)}
    if not allowed:
        require(actor, "users.manage")  # 403: no section for this role
    shown = {
        "add": blank(request, role="rep"),
        "role": blank(request),
        "deactivate": blank(request),
        "export": blank(request),
        "anonymise": blank(request),
    }
    shown.update(forms or {})
    user_rows: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    more = False
    with request.app.state.sessions() as db:
        if "users" in allowed:
            user_rows = [
                {
                    "username": u.username,
                    "role": u.role,
                    "rep_name": u.rep_name,
                    "is_active": u.is_active,
                    "created_at": getattr(u, "created_at", None),
                }
                for u in users.list_users(db, actor=actor)
            ]
        if "audit" in allowed:
            rows = audit.list_entries(
                db,
                actor=actor,
                entity=entity or None,
                entity_id=entity_id or None,
                limit=AUDIT_PAGE + 1,
                offset=(page - 1) * AUDIT_PAGE,
            )
            more = len(rows) > AUDIT_PAGE
            entries = [
                {
                    "at": r.at,
                    "username": r.username,
                    "action": r.action,
                    "entity": r.entity,
                    "entity_id": r.entity_id,
                    "changes": json.dumps(r.changes, ensure_ascii=False, default=str)[:300],
                    "note": r.note,
                }
                for r in rows[:AUDIT_PAGE]
            ]
    return render(
        request,
        "admin/page.html",
        status_code=status,
        actor=actor,
        allowed=allowed,
        forms=shown,
        users=user_rows,
        roles=[(r, texts.text(f"web_role_{r}", language(request))) for r in ROLES],
        usernames=[(u["username"], u["username"]) for u in user_rows if u["is_active"]],
        entries=entries,
        entity=entity or "",
        entity_id=entity_id or "",
        page=page,
        more=more,
        min_password=users.MIN_PASSWORD,
    )


@router.get("/admin", name="web_admin")
def page(
    request: Request,
    actor: PageUser,
    entity: Short = None,
    entity_id: Short = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _page(request, actor, entity=entity, entity_id=entity_id, page=page)


class AddUserForm(BaseModel):
    username: Name
    password: Annotated[str, StringConstraints(min_length=users.MIN_PASSWORD, max_length=1024)]
    role: Role
    rep_name: Line | None = None
    display_name: Line | None = None


@router.post("/admin/users", name="web_admin_user_add")
def add_user(request: Request, actor: PageUser, form: Posted) -> Response:
    require(actor, "users.manage")
    checked = validate(AddUserForm, form, request)
    if checked.ok and checked.data.role == "rep" and not checked.data.rep_name:
        checked = checked.error("rep_name", "web_admin_err_rep_name")
    if not checked.ok:
        return _page(request, actor, {"add": _no_password(checked)}, 422)
    try:
        with changes(request) as db:
            users.create_user(db, actor=actor, **checked.data.model_dump())
    except ConflictError:
        failed = checked.error("username", "web_admin_err_user_taken")
        return _page(request, actor, {"add": _no_password(failed)}, 422)
    except SchemaError:
        failed = checked.error("username", "web_admin_err_username")
        return _page(request, actor, {"add": _no_password(failed)}, 422)
    return done(request, "web_admin", "user_added")


def _no_password(checked: Checked[Any]) -> Checked[Any]:
    values = {k: v for k, v in checked.values.items() if k != "password"}
    return Checked(values, None, checked.errors, checked.lang)


class RoleForm(BaseModel):
    username: Name
    role: Role
    rep_name: Line | None = None


@router.post("/admin/users/role", name="web_admin_user_role")
def change_role(request: Request, actor: PageUser, form: Posted) -> Response:
    require(actor, "users.manage")
    checked = validate(RoleForm, form, request)
    if checked.ok and checked.data.role == "rep" and not checked.data.rep_name:
        checked = checked.error("rep_name", "web_admin_err_rep_name")
    if not checked.ok:
        return _page(request, actor, {"role": checked}, 422)
    try:
        with changes(request) as db:
            users.set_role(db, actor=actor, **checked.data.model_dump())
    except NotFoundError:
        return _page(
            request, actor, {"role": checked.error("username", "web_admin_err_no_user")}, 422
        )
    except ConflictError:
        return _page(request, actor, {"role": checked.error("role", "web_admin_err_own_role")}, 422)
    except SchemaError as exc:
        return _page(request, actor, {"role": checked.failed(exc, "role")}, 422)
    return done(request, "web_admin", "role_changed")


class DeactivateForm(BaseModel):
    username: Name
    confirm: Name


@router.post("/admin/users/deactivate", name="web_admin_user_deactivate")
def deactivate(request: Request, actor: PageUser, form: Posted) -> Response:
    require(actor, "users.manage")
    checked = validate(DeactivateForm, form, request)
    if checked.ok and checked.data.confirm != checked.data.username:
        checked = checked.error("confirm", "web_admin_err_confirm_user")
    if not checked.ok:
        return _page(request, actor, {"deactivate": checked}, 422)
    try:
        with changes(request) as db:
            users.deactivate(db, actor=actor, username=checked.data.username)
    except NotFoundError:
        failed = checked.error("username", "web_admin_err_no_user")
        return _page(request, actor, {"deactivate": failed}, 422)
    except ConflictError:
        failed = checked.error("username", "web_admin_err_self")
        return _page(request, actor, {"deactivate": failed}, 422)
    return done(request, "web_admin", "user_deactivated")


class PersonForm(BaseModel):
    code: Name


@router.post("/admin/privacy/export", name="web_admin_privacy_export")
def export_person(request: Request, actor: PageUser, form: Posted) -> Response:
    """A person's data (an access request) as a JSON download; the export is audited."""
    require(actor, "privacy.manage")
    checked = validate(PersonForm, form, request)
    if not checked.ok:
        return _page(request, actor, {"export": checked}, 422)
    code = checked.data.code
    try:
        with changes(request) as db:  # the export's audit row
            data = privacy.export_person(
                db, actor=actor, code=code, workspace=request.app.state.settings.workspace
            )
    except NotFoundError:
        return _page(
            request, actor, {"export": checked.error("code", "web_admin_err_no_customer")}, 422
        )
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
    name = f"personal-data-{code}.json".encode("ascii", "replace").decode().replace('"', "_")
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class AnonymiseForm(BaseModel):
    code: Name
    confirm: Name
    reason: Line


@router.post("/admin/privacy/anonymise", name="web_admin_privacy_anonymise")
def anonymise(request: Request, actor: PageUser, form: Posted) -> Response:
    require(actor, "privacy.manage")
    checked = validate(AnonymiseForm, form, request)
    if checked.ok and checked.data.confirm != checked.data.code:
        checked = checked.error("confirm", "web_admin_err_confirm_code")
    if not checked.ok:
        return _page(request, actor, {"anonymise": checked}, 422)
    try:
        with changes(request) as db:
            privacy.anonymise_person(
                db,
                actor=actor,
                code=checked.data.code,
                note=checked.data.reason,
                workspace=request.app.state.settings.workspace,
            )
    except NotFoundError:
        failed = checked.error("code", "web_admin_err_no_customer")
        return _page(request, actor, {"anonymise": failed}, 422)
    except KehuError as exc:
        return _page(request, actor, {"anonymise": checked.failed(exc)}, 422)
    privacy.drop_old_versions(request.app.state.engine)  # after the commit
    return done(request, "web_admin", "anonymised_admin")
