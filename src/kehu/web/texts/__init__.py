"""The pages' strings in Chinese and English, one table per area of the application.

Each module holds ``TEXTS: {key: (zh, en)}``; keys start with ``web_`` and are
unique across modules (checked here, at import).  A key that is not in these
tables falls back to the report's strings in :mod:`kehu.i18n`; an unknown key
raises ``KeyError``, so an untranslated string fails the page's test.
"""

from __future__ import annotations

import importlib

from kehu import i18n

#: one module per area of the application (and one per helper that owns it)
AREAS = ("common", "forms", "workbench", "followups", "campaigns", "feedback", "admin")


def _merge() -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for area in AREAS:
        table = importlib.import_module(f"{__name__}.{area}").TEXTS
        twice = merged.keys() & table.keys()
        if twice:
            raise RuntimeError(f"web texts defined twice ({area}): {sorted(twice)}")
        merged.update(table)
    return merged


TEXTS = _merge()


def text(key: str, lang: str) -> str:
    """The page string ``key`` in ``lang`` (``zh`` or ``en``)."""
    if key in TEXTS:
        return TEXTS[key][0 if lang == "zh" else 1]
    return i18n.text(key, lang)
