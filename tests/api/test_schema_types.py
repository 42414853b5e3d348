"""The shared schema types: what they accept is what their JSON schema declares."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pydantic import TypeAdapter, ValidationError

from kehu.api.schemas import common
from kehu.api.schemas.common import (
    HTTP_URL,
    NO_NUL,
    NOT_BLANK,
    Date,
    HttpUrl,
    Integer,
    Name,
    NonZero,
    Text,
    UtcDateTime,
    WallClock,
)


def _ok(t, value):
    return TypeAdapter(t).validate_python(value)


def _refused(t, value) -> bool:
    try:
        TypeAdapter(t).validate_python(value)
    except ValidationError:
        return True
    return False


def test_spaces_are_pythons_whitespace():
    """The spelled-out class is exactly what str.strip() removes."""
    spaces = re.compile(f"[{common._SPACES}]")
    assert {c for c in map(chr, range(0x110000)) if c.isspace()} == {
        c for c in map(chr, range(0x110000)) if spaces.fullmatch(c)
    }


@pytest.mark.parametrize("value", ["", "a", " a ", "回流短信", "a\nb"])
def test_text_and_names_agree_with_their_patterns(value):
    for t, pattern in ((Text(10), NO_NUL), (Name(10), NOT_BLANK)):
        assert (re.fullmatch(pattern, value) is not None) != _refused(t, value), (t, value)


@pytest.mark.parametrize("value", ["", " ", "\u3000\t", "\x1c", "a\x00", "\x00"])
def test_blank_and_nul_are_refused_as_declared(value):
    assert _refused(Name(10), value) and not re.fullmatch(NOT_BLANK, value)


def test_integers_are_json_integers():
    t = Integer(1, 5)
    assert _ok(t, 3) == 3 and _ok(t, 3.0) == 3
    for bad in ("3", True, 3.5, 0, 6, None):
        assert _refused(t, bad), bad
    schema = TypeAdapter(t | None).json_schema()["anyOf"][0]
    assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", 1, 5)
    assert _refused(NonZero(10), 0) and _ok(NonZero(10), -3) == -3
    assert TypeAdapter(NonZero(10)).json_schema()["not"] == {"const": 0}


def test_dates_are_iso_strings():
    assert _ok(Date, "2024-07-01") == dt.date(2024, 7, 1)
    assert _ok(Date, dt.date(2024, 7, 1)) == dt.date(2024, 7, 1)  # from Python callers
    for bad in (0, 20240701, "20240701", "2024-07-01T00:00:00", dt.datetime(2024, 7, 1), True):
        assert _refused(Date, bad), bad
    assert TypeAdapter(Date).json_schema() == {"type": "string", "format": "date"}


def test_utc_times():
    t = TypeAdapter(UtcDateTime)
    assert t.dump_json(dt.datetime(2024, 7, 1, 2)) == b'"2024-07-01T02:00:00Z"'  # naive is UTC
    assert t.validate_python("2024-07-01T10:00:00+08:00") == dt.datetime(
        2024, 7, 1, 2, tzinfo=dt.UTC
    )
    for bad in (0, "0", "2024-07-01", "yesterday", "0001-01-01T00:00:00+01:00"):
        assert _refused(UtcDateTime, bad), bad
    assert t.json_schema() == {"type": "string", "format": "date-time"}


def test_wall_clock_times():
    t = TypeAdapter(WallClock)
    assert t.validate_python("2024-07-03T10:00:00+08:00") == dt.datetime(2024, 7, 3, 10)
    assert t.dump_json(dt.datetime(2024, 7, 3, 10)) == b'"2024-07-03T10:00:00"'
    shown = t.json_schema(mode="serialization")
    assert "format" not in shown and re.fullmatch(shown["pattern"], "2024-07-03T10:00:00")
    assert t.json_schema(mode="validation")["format"] == "date-time"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("", True),
        ("http://127.0.0.1:54321/sms", True),
        ("https://hooks.example.com/x?y=1#z", True),
        ("http://localhost:65535/", True),
        ("ftp://example.com", False),
        ("http://", False),
        ("http://a b", False),
        ("http://example.com/\x00", False),
        ("http://6.9.00.990", False),
        ("http://example.com:65536", False),
    ],
)
def test_http_urls(url, ok):
    assert (re.fullmatch(HTTP_URL, url) is not None) == ok
    assert _refused(HttpUrl, url) != ok
