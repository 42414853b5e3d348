"""Shared schema pieces: bounded text without NUL characters, and the error body."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BaseModel, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


def Text(max_length: int, min_length: int = 0):
    """``str`` of bounded length that databases can store (no NUL)."""
    return Annotated[
        str,
        StringConstraints(max_length=max_length, min_length=min_length),
        AfterValidator(_no_nul),
    ]


Key = Text(64, 1)
#: a row id in a path (bounded: SQLite integers are 64-bit)
RowId = Annotated[int, Path(ge=1, le=2**62)]
Short = Text(200)
LongText = Text(10_000)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """Every expected failure: a stable ``code`` and a clear ``message``."""

    error: ErrorDetail


ERRORS = {
    401: {"model": ErrorOut, "description": "not authenticated"},
    403: {"model": ErrorOut, "description": "the role may not do this"},
    404: {"model": ErrorOut, "description": "not found (or outside the user's scope)"},
    409: {"model": ErrorOut, "description": "conflicts with stored data"},
    422: {"model": ErrorOut, "description": "invalid input"},
}
