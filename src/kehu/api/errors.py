"""Expected failures as JSON: ``{"error": {"code", "message", "details"}}``.

Each :mod:`kehu.exceptions` error (and the access errors of
:mod:`kehu.services.access`) maps to a status and a stable ``code``; bad input
never becomes a 500.  A body that cannot be decoded (not JSON, not UTF-8) is a
400 ``malformed_body``; one that decodes but breaks the schema (a wrong content
type included) is a 422 ``validation_error``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kehu.exceptions import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    DataImportError,
    FilterSyntaxError,
    ForbiddenError,
    KehuError,
    NotFoundError,
    RateLimitError,
    SchemaError,
)

log = logging.getLogger("kehu.api")

#: error class -> (HTTP status, code); the first match in this order wins
ERROR_MAP: tuple[tuple[type[Exception], int, str], ...] = (
    (AuthenticationError, 401, "unauthenticated"),
    (ForbiddenError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (RateLimitError, 429, "rate_limited"),
    (FilterSyntaxError, 422, "filter_syntax"),
    (SchemaError, 422, "validation_error"),
    (ConfigError, 422, "validation_error"),
    (DataImportError, 422, "import_error"),
    (KehuError, 400, "bad_request"),
)
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def _kehu_error(request: Request, exc: Exception) -> JSONResponse:
    for cls, status, code in ERROR_MAP:
        if isinstance(exc, cls):
            headers = {}
            if status == 401:
                headers["WWW-Authenticate"] = "Bearer"
            if isinstance(exc, RateLimitError):
                headers["Retry-After"] = str(exc.retry_after)
            details = None
            if isinstance(exc, FilterSyntaxError):
                details = {"position": exc.position, "filter": exc.text, "reason": exc.reason}
            return JSONResponse(
                error_body(code, str(exc), details), status_code=status, headers=headers
            )
    raise exc  # pragma: no cover - KehuError is last in the map


MALFORMED = "malformed_body"
#: FastAPI's message when the body is not UTF-8 (any decoding failure but JSON syntax)
_FASTAPI_UNREADABLE = "There was an error parsing the body"


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if errors and all(e.get("type") == "json_invalid" for e in errors):
        reason = (errors[0].get("ctx") or {}).get("error", "")
        where = errors[0].get("loc", ("body", 0))[-1]
        message = f"the body is not valid JSON: {reason} (at character {where})"
        return JSONResponse(error_body(MALFORMED, message), status_code=400)
    if isinstance(exc.body, bytes | bytearray):  # a body FastAPI did not read as JSON
        message = "send the body as JSON with the header Content-Type: application/json"
        return JSONResponse(error_body("validation_error", message), status_code=422)
    details = [
        {
            "location": ".".join(str(p) for p in e.get("loc", ())),
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in errors
    ]
    first = details[0] if details else {"location": "", "message": "invalid request"}
    message = f"{first['location']}: {first['message']}" if first["location"] else first["message"]
    return JSONResponse(error_body("validation_error", message, details), status_code=422)


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, "error")
    message = str(exc.detail)
    if exc.status_code == 400 and message == _FASTAPI_UNREADABLE:
        code, message = MALFORMED, "the body cannot be read: send JSON encoded in UTF-8"
    return JSONResponse(
        error_body(code, message),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
    # a race between two requests on the same natural key: the loser sees a conflict
    return JSONResponse(
        error_body("conflict", "the change conflicts with data stored meanwhile; retry"),
        status_code=409,
    )


def _data_error(request: Request, exc: DataError) -> JSONResponse:
    return JSONResponse(
        error_body("validation_error", "a value cannot be stored (out of range or bad text)"),
        status_code=422,
    )


def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
    return JSONResponse(
        error_body("validation_error", "a number is too large to be stored"), status_code=422
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "internal error; the server log has the details"),
        status_code=500,
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(KehuError, _kehu_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OverflowError, _overflow)
    app.add_exception_handler(Exception, _unexpected)
