"""Mount the pages, their assets, security headers and HTML error pages on the API's app."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from kehu.exceptions import ForbiddenError, KehuError, NotFoundError
from kehu.web.pages import (
    account,
    admin,
    campaigns,
    channels,
    classes,
    customers,
    feedback,
    followups,
    loyalty,
    runs,
    settings,
    workbench,
)
from kehu.web.render import render
from kehu.web.session import CsrfError, SignInRequired

log = logging.getLogger("kehu.web")
API_PREFIX = "/api/"
#: pages run no inline script: charts read their data from JSON blocks in static/charts.js
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIX)


def mount(app: FastAPI) -> None:
    """Add the web pages to ``app`` (the API's app, whose routes live under ``/api/v1``)."""
    app.mount("/static", StaticFiles(packages=[("kehu.web", "static")]), name="static")

    @app.get("/static-vendor/plotly.min.js", include_in_schema=False, name="plotly")
    def plotly_bundle() -> FileResponse:
        import plotly

        path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        # the file changes only with the installed package: cache it for a day
        return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})

    pages = (account, workbench, customers, classes, followups, campaigns, loyalty, feedback)
    for module in (*pages, runs, channels, admin, settings):
        app.include_router(module.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        if _is_page(request):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    _html_errors(app)


def _html_errors(app: FastAPI) -> None:
    """Pages answer errors with a page in their language; the API keeps its JSON handlers."""
    json_kehu = app.exception_handlers[KehuError]
    json_http = app.exception_handlers[StarletteHTTPException]
    json_validation = app.exception_handlers[RequestValidationError]

    async def kehu_error(request: Request, exc: KehuError) -> Response:
        if not _is_page(request):
            return await _call(json_kehu, request, exc)
        if isinstance(exc, SignInRequired):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            url = request.url_for("web_login_form").include_query_params(next=target)
            return RedirectResponse(str(url), status_code=303)
        if isinstance(exc, CsrfError):
            return render(request, "csrf_error.html", status_code=403)
        status = 404 if isinstance(exc, NotFoundError) else 403
        if not isinstance(exc, NotFoundError | ForbiddenError):
            status = 400
        return render(request, "error.html", status_code=status, status=status, message=str(exc))

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not _is_page(request):
            return await _call(json_http, request, exc)
        return render(
            request, "error.html", status_code=exc.status_code, status=exc.status_code, message=""
        )

    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if not _is_page(request):
            return await _call(json_validation, request, exc)
        return render(request, "error.html", status_code=400, status=400, message="")

    app.add_exception_handler(KehuError, kehu_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


async def _call(handler, request, exc):
    result = handler(request, exc)
    if hasattr(result, "__await__"):
        result = await result
    return result
