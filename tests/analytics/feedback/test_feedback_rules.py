"""The default lexicon rules of classify_feedback on hand-made zh/en cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kehu.analytics.feedback import DEFAULT_CATEGORIES, classify_feedback, resolve_categories
from kehu.analytics.feedback.classify import COLUMNS
from kehu.exceptions import ConfigError


def one(text, **kw):
    return classify_feedback([text], **kw).iloc[0]


@pytest.mark.parametrize(
    ("text", "category", "sentiment"),
    [
        ("不新鲜", "freshness", "negative"),
        ("菜很新鲜", "freshness", "positive"),
        ("送货很快", "delivery_speed", "positive"),
        ("配送太慢了", "delivery_speed", "negative"),
        ("价格不贵", "price", "positive"),
        ("价格好贵", "price", "negative"),  # 好 before a sentiment word is "very"
        ("价格便宜", "price", "positive"),
        ("一点都不便宜", "price", "negative"),
        ("客服态度很差", "service_attitude", "negative"),
        ("服务态度很好", "service_attitude", "positive"),
        ("包装破损，汤洒了", "packaging", "negative"),
        ("东西坏了，已经过期", "product_quality", "negative"),
        ("质量没得说", "product_quality", "positive"),
        ("苹果都烂了", "freshness", "negative"),
        ("not fresh", "freshness", "negative"),
        ("The vegetables were very fresh", "freshness", "positive"),
        ("Delivery was late", "delivery_speed", "negative"),
        ("arrived quickly, on time", "delivery_speed", "positive"),
        ("way too expensive", "price", "negative"),
        ("not expensive at all", "price", "positive"),
        ("the staff were rude", "service_attitude", "negative"),
        ("The box was crushed and the milk leaked", "packaging", "negative"),
        ("It wasn't fresh", "freshness", "negative"),
    ],
)
def test_hand_made_cases(text, category, sentiment):
    row = one(text)
    assert (row["category"], row["sentiment"]) == (category, sentiment)


def test_negation_flips_and_is_explained():
    row = one("菜不新鲜")
    # "不新鲜" is a lexicon term of its own (-1.5); "不 + 新鲜" shows the negation rule
    assert row["sentiment_terms"] == ["不新鲜(-1.5)"]
    row = one("菜并不是很新鲜")
    assert row["sentiment"] == "negative"
    # 并不 negates across 是; 很 after a negator softens (x0.6) instead of amplifying
    assert row["sentiment_terms"] == ["并不+很+新鲜(-0.6)"]
    assert one("no problems at all")["sentiment"] == "positive"  # negated negative
    assert one("不是不好")["sentiment_terms"] == ["不是+不好(+1)"]  # double negation


def test_negation_scope_stops_at_the_clause():
    # the 不 of the first clause does not reach 新鲜 in the second
    assert one("不知道，很新鲜")["sentiment"] == "positive"


def test_degree_scales_and_softens_after_negation():
    # hand-computed: 新鲜 = +1; 很 x1.5; 非常 x2; 不太 = negated, softened to x0.6
    raw = {
        t: 2 * math.atanh(one(t)["sentiment_score"])
        for t in ["新鲜", "很新鲜", "非常新鲜", "不太新鲜"]
    }
    assert raw["新鲜"] == pytest.approx(1.0)
    assert raw["很新鲜"] == pytest.approx(1.5)
    assert raw["非常新鲜"] == pytest.approx(2.0)
    assert raw["不太新鲜"] == pytest.approx(-0.6)


def test_contrast_weighs_the_clause_after_more():
    # +1.5 (很+快) then x2 after 但是 for -1.5 (不新鲜): raw = 1.5 - 3 = -1.5
    row = one("送货很快，但是菜不新鲜")
    assert row["sentiment"] == "negative"
    assert 2 * math.atanh(row["sentiment_score"]) == pytest.approx(-1.5)
    # the complaint decides the category: freshness (1 x 2 x 2 = 4) over delivery (1 + 1 = 2)
    assert row["category"] == "freshness"
    assert row["categories"] == ["freshness", "delivery_speed"]
    assert row["category_score"] == pytest.approx(4 / 6)
    # English, and the reverse order: the praise after "but" wins
    assert one("The food was cold but the delivery was very fast")["sentiment"] == "positive"
    assert one("虽然有点贵，但是很好吃")["sentiment"] == "positive"


def test_blockers_shield_their_characters():
    # 不过 is a contrast, not a negator; 快递 is a noun, not "fast"; 不仅 is not a negation
    assert one("快递")["sentiment"] == "neutral"
    assert one("不仅新鲜而且便宜")["sentiment"] == "positive"


def test_no_keyword_is_other_and_empty_is_neutral():
    row = one("今天下雨")
    assert (row["category"], row["category_score"], row["categories"]) == ("other", 0.0, [])
    assert row["category_zh"] == "其他"
    for empty in ["", None, float("nan")]:
        row = one(empty)
        assert (row["category"], row["sentiment"], row["sentiment_score"]) == (
            "other",
            "neutral",
            0.0,
        )


def test_ties_break_in_category_order():
    # one keyword each, same clause, no sentiment: freshness comes before price
    row = one("新鲜度和价格")
    assert row["categories"][0] == "freshness"


def test_output_shape_index_and_language():
    s = pd.Series(["送货很快", "not fresh"], index=[10, 20])
    out = classify_feedback(s)
    assert list(out.columns) == list(COLUMNS)
    assert list(out.index) == [10, 20]
    assert list(out["lang"]) == ["zh", "en"]
    assert out["category_score"].dtype == "float64"
    forced = classify_feedback(["not fresh"], lang="zh")
    assert forced["lang"].iloc[0] == "zh"
    empty = classify_feedback([])
    assert list(empty.columns) == list(COLUMNS) and len(empty) == 0


def test_bad_lang():
    with pytest.raises(ConfigError, match="lang"):
        classify_feedback(["x"], lang="fr")


# --- configurable categories --------------------------------------------------------------


def test_default_categories():
    assert DEFAULT_CATEGORIES == (
        "freshness",
        "product_quality",
        "service_attitude",
        "delivery_speed",
        "price",
        "packaging",
        "other",
    )
    assert set(resolve_categories()) == set(DEFAULT_CATEGORIES) - {"other"}


def test_categories_add_override_and_remove():
    cats = {
        "hygiene": {"zh": ["不干净", "卫生"], "en": ["dirty"]},
        "price": None,
        "freshness": {"zh": ["蔫"]},  # replaces the zh list only
    }
    merged = resolve_categories(cats)
    assert "price" not in merged
    assert merged["freshness"]["zh"] == ["蔫"]
    assert "fresh" in merged["freshness"]["en"]
    out = classify_feedback(
        ["厨房不干净", "价格便宜", "菜不新鲜", "菜都蔫了", "dirty plates"], categories=cats
    )
    assert list(out["category"]) == ["hygiene", "other", "other", "freshness", "hygiene"]
    assert out["category_zh"].iloc[0] == "hygiene"  # no Chinese name known: the name itself
    # the default lexicon is untouched
    assert one("价格便宜")["category"] == "price"


@pytest.mark.parametrize(
    ("cats", "message"),
    [
        ({"freshness": {"zh": ["新鲜"], "fr": ["frais"]}}, "unknown key"),
        ({"freshness": ["新鲜"]}, "must be a mapping"),
        ({"freshness": {"zh": "新鲜"}}, "list of keywords"),
        ({"freshness": {"zh": ["新鲜", ""]}}, r"\[1\] must be a non-empty string"),
        ({"other": {"zh": ["别的"]}}, "fallback"),
        ({"": {"zh": ["x"]}}, "non-empty strings"),
        (["freshness"], "must be a mapping"),
        (
            {name: None for name in DEFAULT_CATEGORIES if name != "other"},
            "every category was removed",
        ),
    ],
)
def test_bad_categories(cats, message):
    with pytest.raises(ConfigError, match=message):
        classify_feedback(["x"], categories=cats)
