"""Shared schema pieces: text, names, numbers, dates and times as the OpenAPI document declares
them, and the error body.

Every rule enforced here is also written into the schema (``pattern``,
``minLength``, ``minimum``, ``format``), so generated clients and schemathesis know it:

- :func:`Text` has no NUL character; :func:`Name` also has a character that is not a space.
- :func:`Integer` is JSON's integer (``3`` or ``3.0``), never ``"3"`` or ``true``, which
  pydantic alone would take; :data:`Id` and :data:`RowId` are the store's row ids.
- :data:`Date` is a ``YYYY-MM-DD`` string (``format: date``): a number is refused,
  where pydantic alone would read ``0`` as 1970-01-01.
- :data:`UtcDateTime` is RFC 3339 (``format: date-time``): the store keeps naive UTC,
  answers carry the offset (``Z``), an input with an offset is converted to UTC
  and one without is taken as UTC.
- :data:`WallClock` is a local date and time without offset (an order's time): an
  offset given is dropped, and answers have none.
- :data:`HttpUrl` is an http(s) URL that the sender can post to.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
    WrapSerializer,
)
from pydantic_core import CoreSchema

from kehu.writers import CSV_MEDIA, XLSX_MEDIA


@dataclass(frozen=True)
class _Declare:
    """Adds keywords to a type's JSON schema (the validators enforce them)."""

    keywords: tuple[tuple[str, Any], ...]

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        schema = handler(core_schema)
        schema.update(dict(self.keywords))
        return schema


#: Python's whitespace (what str.strip() removes), spelled out so that a pattern means the
#: same in Python, ECMAScript and Rust regular expressions, which disagree on what \s is
_SPACES = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u3000"
)
#: no NUL: databases cannot store it
NO_NUL = r"^[^\u0000]*$"
#: no NUL and at least one character that is not a space
NOT_BLANK = rf"^[^\u0000]*[^{_SPACES}\u0000][^\u0000]*$"
_NO_NUL_RE = re.compile(NO_NUL)
_NOT_BLANK_RE = re.compile(NOT_BLANK)


def _no_nul(value: str) -> str:
    if not _NO_NUL_RE.fullmatch(value):
        raise ValueError("text must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not _NOT_BLANK_RE.fullmatch(value):
        raise ValueError("must not be blank")
    return value


def Text(max_length: int, min_length: int = 0):
    """``str`` of bounded length that databases can store (no NUL)."""
    return Annotated[
        str,
        StringConstraints(max_length=max_length, min_length=min_length),
        AfterValidator(_no_nul),
        _Declare((("pattern", NO_NUL),)),
    ]


def Name(max_length: int):
    """A name or title: :func:`Text` with at least one character that is not a space."""
    return Annotated[
        str,
        StringConstraints(max_length=max_length, min_length=1),
        AfterValidator(_no_nul),
        AfterValidator(_not_blank),
        _Declare((("pattern", NOT_BLANK),)),
    ]


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}\.)*[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
_URL_REST = rf"[^\u0000-\u0020\u007f{_SPACES}]"
#: an http(s) URL with a host name or IPv4 address, printable and without spaces; or empty.
#: Everything it matches is a URL the sender can post to; it is checked as declared.
HTTP_URL = (
    rf"^(?:https?://(?:{_HOST}|{_OCTET}(?:\.{_OCTET}){{3}})(?::{_PORT})?(?:[/?#]{_URL_REST}*)?)?$"
)
#: an http(s) URL as :data:`HTTP_URL` says, at most 500 characters; "" for none
HttpUrl = Annotated[str, StringConstraints(max_length=500, pattern=HTTP_URL)]

Key = Text(64, 1)
#: the largest row id: the store's ids are 32-bit integers in PostgreSQL
MAX_ID = 2**31 - 1
#: a row id in a path
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
Short = Text(200)
LongText = Text(10_000)


def _json_integer(value: Any) -> Any:
    # JSON Schema's integer: 3 or 3.0; never "3" or true (pydantic alone takes both)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer (a JSON number)")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _not_zero(value: int) -> int:
    if value == 0:
        raise ValueError("must not be zero")
    return value


def Integer(ge: int | None = None, le: int | None = None):
    """A JSON integer from ``ge`` to ``le``: ``3`` or ``3.0``, never ``"3"`` or ``true``."""
    # the bounds go before the validator, so that the schema says minimum/maximum
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_json_integer)]


def NonZero(bound: int):
    """A JSON integer from ``-bound`` to ``bound``, not 0."""
    return Annotated[
        int,
        Field(ge=-bound, le=bound),
        BeforeValidator(_json_integer),
        AfterValidator(_not_zero),
        _Declare((("not", {"const": 0}),)),
    ]


Int = Integer()
#: a row id in a body
Id = Integer(1, MAX_ID)

# --- dates and times -------------------------------------------------------------------------

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# RFC 3339 (a space for the T is tolerated, seconds may be left out)
_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?"
)


def _date_text(value: Any) -> Any:
    # a date object comes from Python callers; over HTTP a date is a string, never a number
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        return value
    raise ValueError("a date is written YYYY-MM-DD, e.g. 2024-07-01")


def _datetime_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATETIME_RE.fullmatch(value):
        return value
    raise ValueError("a time is written YYYY-MM-DDTHH:MM:SS+08:00 (RFC 3339)")


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0
        raise ValueError("the time is out of range once converted to UTC") from None


def _wall_clock(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=None)


#: keys of free-form answers whose times are an order's wall-clock time, not UTC
WALL_CLOCK_KEYS = frozenset({"order_time", "last_order"})


def with_utc(value: Any, key: str | None = None) -> Any:
    """``value`` (nested dicts and lists of a free-form answer) with every stored time
    marked UTC, as :data:`UtcDateTime` does for typed fields; wall-clock times stay as they are."""
    if isinstance(value, dt.datetime):
        return value if key in WALL_CLOCK_KEYS else _utc(value)
    if isinstance(value, dict):
        return {k: with_utc(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [with_utc(v, key) for v in value]
    return value


#: ``YYYY-MM-DD`` only (``format: date``)
Date = Annotated[dt.date, BeforeValidator(_date_text)]


def _utc_out(value: dt.datetime, handler):
    # also when a model was built without validation: the store's naive UTC gets its Z
    return handler(_utc(value))


#: RFC 3339 with offset; naive values (the store's) are UTC
UtcDateTime = Annotated[
    dt.datetime,
    BeforeValidator(_datetime_text),
    AfterValidator(_utc),
    WrapSerializer(_utc_out),
]
#: a local time without offset: answers match this
WALL_CLOCK = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$"
WallClock = Annotated[
    dt.datetime,
    BeforeValidator(_datetime_text),
    AfterValidator(_wall_clock),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": WALL_CLOCK,
            "description": "local wall-clock time, without offset",
            "examples": ["2024-07-03T10:00:00"],
        },
        mode="serialization",
    ),
]

# --- errors ------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """Every expected failure: a stable ``code`` and a clear ``message``."""

    error: ErrorDetail


#: the 200 of an export endpoint: the media types the export writer sends
EXPORT_FILE = {
    200: {
        "description": "the file: CSV (UTF-8 with BOM) or an Excel workbook",
        "content": {
            CSV_MEDIA: {"schema": {"type": "string"}},
            XLSX_MEDIA: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}

ERRORS = {
    400: {
        "model": ErrorOut,
        "description": "the body cannot be read (not UTF-8 JSON) or the request is refused",
    },
    401: {"model": ErrorOut, "description": "not authenticated"},
    403: {"model": ErrorOut, "description": "the role may not do this"},
    404: {"model": ErrorOut, "description": "not found (or outside the user's scope)"},
    409: {"model": ErrorOut, "description": "conflicts with stored data"},
    422: {"model": ErrorOut, "description": "invalid input"},
}
