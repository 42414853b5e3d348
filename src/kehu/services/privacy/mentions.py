"""The person's values, and where they appear in texts: found with LIKE, replaced by a regex."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Text, cast, or_, select
from sqlalchemy.orm import Session

from kehu.services.privacy.places import (
    ERASED,
    IDENTIFIERS,
    _audit_link,
    _by_table,
    _link,
    _Person,
    _table,
    personal_columns,
)


@dataclasses.dataclass(frozen=True)
class _Needle:
    """One value of the person: LIKE patterns to find rows, a regex to replace it."""

    patterns: tuple[str, ...]
    regex: re.Pattern[str]


def _like(text: str) -> str:
    return "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _escaped(text: str) -> str:
    """How a JSON column stores ``text`` (non-ASCII as ``\\uXXXX``)."""
    return json.dumps(text)[1:-1]


def _needle(value: str) -> _Needle | None:
    """Search and replacement for one value; ``None`` when too short to be told apart."""
    value = value.strip()
    if not value or value in (ERASED, _table("customers").c.name.info.get("erased")):
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 7 and not re.search(r"[^\d\s()+\-.]", value):
        # a phone number, however it was typed: digits with optional separators, so rows
        # are found by the last four digits and the regex decides
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        body = r"[\s\-.]?".join(digits)
        regex = re.compile(rf"(?<!\d)(?:\+?86[\s\-.]?)?{body}(?!\d)")
        return _Needle((_like(digits[-4:]),), regex)
    if (value.isascii() and len(value) < 3) or len(value) < 2:
        return None
    forms = {value, _escaped(value)}
    alts = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    # ASCII values only as whole words: "Li" must not take a bite of "Lisbon"
    regex = rf"(?<![\w.@])(?:{alts})(?![\w@])" if value.isascii() else f"(?:{alts})"
    return _Needle(tuple(sorted(_like(f) for f in forms)), re.compile(regex, re.IGNORECASE))


def _leaves(value: Any, keys: Iterable[str]) -> Iterable[str]:
    """String values under ``keys`` anywhere in a JSON value."""
    keys = set(keys)
    if isinstance(value, dict):
        for k, v in value.items():
            if k in keys:
                yield from _strings(v)
            else:
                yield from _leaves(v, keys)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, keys)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _known_values(session: Session, person: _Person) -> list[_Needle]:
    """The person's identifying values: current ones and every earlier one in the audit log."""
    values: set[str] = set()
    for col in personal_columns():
        if col.kind != "field" or col.column not in IDENTIFIERS:
            continue
        table = _table(col.table)
        where = _link(table, person)
        values.update(v for v in session.scalars(select(table.c[col.column]).where(where)) if v)
    log_table = _table("audit_log")
    for changes in session.scalars(
        select(log_table.c.changes).where(_audit_link(log_table, person))
    ):
        values.update(_leaves(changes, IDENTIFIERS))
    needles = [_needle(v) for v in sorted(values, key=len, reverse=True)]
    return [n for n in needles if n is not None]


def _scrub(value: Any, needles: list[_Needle]) -> Any:
    """``value`` with each of the person's values replaced by ``[erased]`` (JSON walked)."""
    if isinstance(value, str):
        for n in needles:
            value = n.regex.sub(ERASED, value)
        return value
    if isinstance(value, dict):
        return {_scrub(k, needles): _scrub(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    return value


def _erase_keys(value: Any, keys: frozenset[str], erased: Any) -> Any:
    """JSON with the values of ``keys`` replaced by ``erased`` (or dropped when ``None``)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in keys:
                if erased is not None:
                    out[k] = erased
            else:
                out[k] = _erase_keys(v, keys, erased)
        return out
    if isinstance(value, list):
        return [_erase_keys(v, keys, erased) for v in value]
    return value


def _mentions(session: Session, needles: list[_Needle]):
    """``(table, column, primary key, value)`` of every text or mention holding a needle."""
    if not needles:
        return
    patterns = sorted({p for n in needles for p in n.patterns})
    for name, cols in _by_table(("text", "mention")).items():
        table = _table(name)
        (pk,) = table.primary_key.columns
        for col in cols:
            c = table.c[col.column]
            text = cast(c, Text) if isinstance(c.type, JSON) else c
            hit = or_(*[text.ilike(p, escape="!") for p in patterns])
            for key, value in session.execute(select(pk, c).where(hit)):
                if _scrub(value, needles) != value:  # the LIKE is a coarse first pass
                    yield name, col, key, value
