"""Forms: read a posted form, check its CSRF token, validate it, and say what is wrong per field.

One way for every page that changes something::

    class TaskForm(BaseModel):          # lax pydantic: form values are text
        title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
        due_date: dt.date | None = None

    @router.post("/customers/{code}/tasks")
    def add_task(request: Request, actor: PageUser, form: Posted, code: str):
        checked = validate(TaskForm, form, request)
        if checked.errors:
            return render(..., status_code=422, form=checked)   # the form again, messages by field
        try:
            with changes(request) as db:                # all or nothing: one transaction
                followups.create_task(db, actor=actor, **checked.data.model_dump())
        except KehuError as exc:                        # unknown customer, taken id, ...
            return render(..., status_code=..., form=checked.failed(exc, field="customer"))
        return done(request, "web_customer", "task_added", code=code)   # 303, then a notice

The service's refusal leaves the ``with`` block (:func:`kehu.web.transaction.changes`), so
it is rolled back: a refused form has written nothing.

``Posted`` refuses a form without the token of its session (:class:`CsrfError`, a 403
page) before anything is read or written.  Messages are in the page's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from kehu.exceptions import (
    AuthenticationError,
    ConflictError,
    FilterSyntaxError,
    ForbiddenError,
    KehuError,
    NotFoundError,
)
from kehu.web import texts
from kehu.web.session import CSRF_FIELD, check_csrf, language

M = TypeVar("M", bound=BaseModel)
#: the most a form may post (fields, and bytes of one value) before it is refused whole
MAX_FIELDS = 200
MAX_VALUE = 20_000


async def posted(request: Request) -> FormData:
    """The posted form, after its CSRF token was checked (a dependency of every POST page)."""
    form = await request.form(max_files=5, max_fields=MAX_FIELDS)
    token = form.get(CSRF_FIELD)
    check_csrf(request, token if isinstance(token, str) else None)
    return form


Posted = Annotated[FormData, Depends(posted)]


@dataclass
class Checked(Generic[M]):
    """A form as typed (``values``, to show it again), its model if valid, and errors by field."""

    values: dict[str, Any] = field(default_factory=dict)
    data: M | None = None
    errors: dict[str, str] = field(default_factory=dict)
    lang: str = "zh"

    @property
    def ok(self) -> bool:
        return not self.errors

    def failed(self, exc: Exception, field: str = "_form") -> Checked[M]:
        """The same form with a service's refusal shown at ``field`` (``_form``: above the form)."""
        return Checked(self.values, None, {**self.errors, field: service_message(exc, self.lang)})

    def error(self, field: str, key: str, **values: Any) -> Checked[M]:
        """The same form with the page string ``key`` as the error of ``field``."""
        message = texts.text(key, self.lang)
        return Checked(
            self.values,
            None,
            {**self.errors, field: message.format(**values) if values else message},
        )


def blank(request: Request, **defaults: Any) -> Checked[Any]:
    """A form not yet posted, with its initial values."""
    return Checked(values=defaults, lang=language(request))


def validate(
    model: type[M], form: FormData, request: Request, *, lists: tuple[str, ...] = ()
) -> Checked[M]:
    """Validate ``form`` with ``model``; ``lists`` names the fields posted more than once.

    An empty field counts as not given (its default, or "required" when it has none).
    """
    lang = language(request)
    values: dict[str, Any] = {}
    for name in dict.fromkeys(form.keys()):  # each name once, in the form's order
        if name == CSRF_FIELD:
            continue
        items = [v for v in form.getlist(name) if isinstance(v, str)]
        values[name] = items if name in lists else (items[-1] if items else "")
    too_long = [
        n for n, v in values.items() if sum(map(len, v if isinstance(v, list) else [v])) > MAX_VALUE
    ]
    if too_long:
        message = texts.text("web_err_too_long", lang).format(max=MAX_VALUE)
        return Checked(values, None, {n: message for n in too_long}, lang)
    given = {
        n: ([x for x in v if x.strip()] if isinstance(v, list) else v)
        for n, v in values.items()
        if (v if isinstance(v, list) else v.strip())
    }
    try:
        data = model.model_validate(given)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "_form"
            errors.setdefault(name, _message(err, name in given, lang))
        return Checked(values, None, errors, lang)
    return Checked(values, data, {}, lang)


def _message(err: dict[str, Any], was_given: bool, lang: str) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if not was_given or kind == "missing":
        return texts.text("web_err_required", lang)
    key = {
        "string_too_long": "web_err_too_long",
        "string_too_short": "web_err_too_short",
        "too_long": "web_err_too_many",
        "int_parsing": "web_err_whole_number",
        "int_from_float": "web_err_whole_number",
        "float_parsing": "web_err_number",
        "decimal_parsing": "web_err_number",
        "finite_number": "web_err_number",
        "greater_than": "web_err_greater_than",
        "greater_than_equal": "web_err_at_least",
        "less_than": "web_err_less_than",
        "less_than_equal": "web_err_at_most",
        "date_parsing": "web_err_date",
        "date_from_datetime_parsing": "web_err_date",
        "date_from_datetime_inexact": "web_err_date",
        "datetime_parsing": "web_err_datetime",
        "datetime_from_date_parsing": "web_err_datetime",
        "literal_error": "web_err_choice",
        "enum": "web_err_choice",
        "bool_parsing": "web_err_choice",
        "string_pattern_mismatch": "web_err_pattern",
        "url_parsing": "web_err_url",
        "url_scheme": "web_err_url",
    }.get(kind, "web_err_invalid")
    limits = {
        "max": ctx.get("max_length"),
        "min": ctx.get("min_length"),
        "limit": ctx.get("gt", ctx.get("ge", ctx.get("lt", ctx.get("le")))),
    }
    return texts.text(key, lang).format(**limits)


def service_message(exc: Exception, lang: str) -> str:
    """What a service's refusal says to the person at the form, in their language."""
    if isinstance(exc, FilterSyntaxError):
        return texts.text("web_filter_error_at", lang).format(position=exc.position + 1)
    key = {
        NotFoundError: "web_err_not_found",
        ConflictError: "web_err_conflict",
        ForbiddenError: "web_err_forbidden",
        AuthenticationError: "web_err_forbidden",
    }.get(type(exc))
    if key is None:
        key = next((k for cls, k in _KINDS if isinstance(exc, cls)), "web_err_invalid")
    return texts.text(key, lang)


_KINDS = (
    (NotFoundError, "web_err_not_found"),
    (ConflictError, "web_err_conflict"),
    (ForbiddenError, "web_err_forbidden"),
    (KehuError, "web_err_refused"),
)


def done(request: Request, route: str, notice: str, **params: Any) -> RedirectResponse:
    """After a change, go to a page (303, so reloading does not post again) that says it was done.

    ``notice`` names the page string ``web_done_<notice>`` shown at the top of the page.
    """
    url = request.url_for(route, **params).include_query_params(done=notice)
    return RedirectResponse(str(url), status_code=303)
