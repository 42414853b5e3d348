"""Text normalisation, language detection and lexicon term matching.

Chinese is matched against the lexicon directly, longest term first, instead
of being segmented by a general-purpose tokeniser such as jieba: jieba's
words do not line up with the lexicon ("服务态度", "很快", "不怎么样" come out
as single words, hiding "态度", "快" and the negation), its dictionary costs
42 MB and 2 s to load, and the trainable models use character n-grams, which
need no segmentation at all.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from kehu.exceptions import ConfigError

LANGS = ("zh", "en")

#: CJK unified ideographs (basic block and extension A)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN = re.compile(r"[a-zA-Z]")
#: clause separators; Chinese reviews also use spaces between clauses
_CLAUSE_ZH = re.compile(r"[,.!?;:~\s\u3002\u3001\uff0c\uff1b\uff01\uff1f\u2026\uff5e]+")
_CLAUSE_EN = re.compile(r"[,.!?;:~\u3002\uff0c\uff1b\uff01\uff1f\u2026]+|\n+")
_NOT = re.compile(r"n't\b")
_SPACE = re.compile(r"\s+")

#: share of CJK among letters above which a text is Chinese
ZH_SHARE = 0.2


def clean(text: object) -> str:
    """``str(text)``, with ``None``/NaN as the empty string."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    try:
        import pandas as pd

        if text is pd.NA:
            return ""
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return str(text)


def cjk_share(text: str) -> float:
    """Share of CJK characters among CJK and Latin letters (0 for neither)."""
    zh = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return zh / (zh + latin) if zh + latin else 0.0


def detect_language(text: object) -> str:
    """``"zh"`` when at least :data:`ZH_SHARE` of the letters are CJK, else ``"en"``."""
    return "zh" if cjk_share(clean(text)) >= ZH_SHARE else "en"


def check_lang(lang: str | None) -> str | None:
    """Validate a ``lang`` option (``None`` means detect per text)."""
    if lang is not None and lang not in LANGS:
        raise ConfigError(f"lang must be one of {', '.join(LANGS)} or None, got {lang!r}")
    return lang


def normalise(text: object, lang: str = "zh") -> str:
    """NFKC (full-width to half-width), lower case, single spaces; ``n't`` -> `` not``."""
    out = unicodedata.normalize("NFKC", clean(text)).lower().replace("\u2019", "'")
    if lang == "en":
        out = _NOT.sub(" not", out)
    return _SPACE.sub(" ", out).strip()


def strip_accents(text: str) -> str:
    """Remove combining accents ("não" -> "nao"); reviews spell them inconsistently."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def clause_starts(text: str, lang: str) -> list[int]:
    """Offsets where each clause begins (the first is 0)."""
    sep = _CLAUSE_ZH if lang == "zh" else _CLAUSE_EN
    return [0, *(m.end() for m in sep.finditer(text) if m.end() < len(text))]


@dataclass(frozen=True, slots=True)
class Match:
    """One lexicon term found at ``text[start:end]``."""

    term: str
    start: int
    end: int


class TermMatcher:
    """Finds lexicon terms in normalised text, longest term first.

    Python's regex alternation takes the first alternative that matches, so
    ordering the terms by length makes every match the longest one at its
    position: forward maximum matching, in C.  Latin-script terms only match
    whole words.
    """

    def __init__(self, terms: Iterable[str]):
        unique = sorted(set(terms), key=lambda t: (-len(t), t))
        self.terms = tuple(unique)
        self._pattern = re.compile("|".join(_alternative(t) for t in unique)) if unique else None

    def find(self, text: str) -> list[Match]:
        """Non-overlapping matches, left to right."""
        if self._pattern is None:
            return []
        return [Match(m.group(), m.start(), m.end()) for m in self._pattern.finditer(text)]


def _alternative(term: str) -> str:
    body = r"\s+".join(re.escape(w) for w in term.split())
    if term[:1].isascii() and term[:1].isalnum():
        body = r"(?<![a-z0-9])" + body
    if term[-1:].isascii() and term[-1:].isalnum():
        body += r"(?![a-z0-9])"
    return body
