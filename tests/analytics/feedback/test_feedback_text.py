"""Normalisation, language detection and longest-first term matching."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kehu.analytics.feedback.text import (
    TermMatcher,
    check_lang,
    cjk_share,
    clause_starts,
    clean,
    detect_language,
    normalise,
    strip_accents,
)
from kehu.exceptions import ConfigError


def test_clean_missing_values_are_empty():
    assert [clean(v) for v in (None, math.nan, pd.NA, "x", 3)] == ["", "", "", "x", "3"]


def test_normalise_full_width_case_and_contractions():
    assert normalise("ＯＫ，很好！", "zh") == "ok,很好!"
    assert normalise("It   WASN’T fresh", "en") == "it was not fresh"
    assert normalise("don't", "zh") == "don't"  # contractions only expanded for English


def test_strip_accents():
    assert strip_accents("não chegou até hoje") == "nao chegou ate hoje"


def test_cjk_share_and_detection():
    assert cjk_share("") == 0.0
    assert cjk_share("好ab") == pytest.approx(1 / 3)
    assert detect_language("送货很快") == "zh"
    assert detect_language("买了iPhone，质量不错") == "zh"  # 6 CJK of 12 letters
    assert detect_language("the box was crushed") == "en"
    assert detect_language("") == "en"
    assert detect_language(None) == "en"


def test_check_lang():
    assert check_lang(None) is None
    assert check_lang("zh") == "zh"
    with pytest.raises(ConfigError, match="lang must be one of"):
        check_lang("pt")


def test_matcher_takes_the_longest_term_at_each_position():
    m = TermMatcher(["不", "新鲜", "不新鲜", "鲜"])
    assert [(x.term, x.start, x.end) for x in m.find("菜不新鲜，鲜")] == [
        ("不新鲜", 1, 4),
        ("鲜", 5, 6),
    ]


def test_matcher_english_whole_words_and_phrases():
    m = TermMatcher(["on time", "late", "ok"])
    found = [x.term for x in m.find("arrived on  time, not late; book is ok")]
    assert found == ["on  time", "late", "ok"]  # "ok" inside "book" is not a match
    assert TermMatcher([]).find("anything") == []


def test_clause_starts():
    assert clause_starts("送货很快，但是菜不新鲜", "zh") == [0, 5]
    text = normalise("送货很快，但是菜不新鲜 包装破损", "zh")
    assert clause_starts(text, "zh") == [0, 5, 12]
    assert clause_starts("good food. late delivery", "en") == [
        0,
        10,
    ]  # the clause starts after the full stop
