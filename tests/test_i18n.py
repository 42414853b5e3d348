"""Display strings: every header, label and report text exists in both languages."""

from __future__ import annotations

import pandas as pd
import pytest

from kehu.analytics.schema import CUSTOMER_COLUMNS, RFM_COLUMNS
from kehu.exceptions import ConfigError
from kehu.i18n import (
    HEADERS,
    LABELS_ZH,
    RFM8_EN,
    TEXTS,
    class_order,
    header,
    label,
    text,
    translate_frame_labels,
)

CLASS_COLUMNS = (
    "rfm8",
    "rfm8_en",
    "segment",
    "freq_tier",
    "spend_tier",
    "abc",
    "value_decile",
    "lifecycle",
    "grade",
    "cluster",
    "cluster_label",
    "custom_segment",
)
EXTRA = ("region", "top_category", "top_brand")


def _has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


@pytest.mark.parametrize("column", [*RFM_COLUMNS, *CUSTOMER_COLUMNS, *CLASS_COLUMNS, *EXTRA])
def test_every_customer_column_has_both_headers(column):
    zh, en = header(column, "zh"), header(column, "en")
    assert zh != column and _has_cjk(zh), column
    assert en and not _has_cjk(en), column


def test_headers_from_the_brief():
    expected = {
        "customer_id": "客户编号",
        "recency_days": "最近购买距今天数",
        "orders": "订单数",
        "monetary": "消费金额",
        "avg_order_value": "客单价",
        "r_score": "R分",
        "rfm8": "RFM八类",
        "segment": "客户分群",
        "freq_tier": "购买频次档",
        "spend_tier": "消费档",
        "abc": "ABC分类",
        "value_decile": "价值十分位",
        "lifecycle": "生命周期",
        "grade": "档位",
        "cluster": "行为聚类",
    }
    assert {c: header(c, "zh") for c in expected} == expected
    assert header("no_such_column", "zh") == "no_such_column"


def test_all_tables_are_complete():
    for key, pair in [*HEADERS.items(), *TEXTS.items()]:
        assert len(pair) == 2 and all(pair), key
        assert _has_cjk(pair[0]) or pair[0] in ("R分",), key


@pytest.mark.parametrize(
    "column", ["rfm8", "segment", "lifecycle", "freq_tier", "spend_tier", "abc"]
)
def test_every_class_label_has_chinese(column):
    values = class_order(column)
    assert values
    for v in values:
        zh, en = label(column, v, "zh"), label(column, v, "en")
        assert _has_cjk(zh), (column, v)
        assert not _has_cjk(en), (column, v)


def test_labels_both_ways():
    assert label("segment", "Champions", "zh") == "冠军客户"
    assert label("segment", "Champions", "en") == "Champions"
    assert label("segment", "cannot_lose_them", "en") == "Cannot lose them"
    assert label("lifecycle", "at_risk", "en") == "At risk"
    assert label("rfm8", "重要价值客户", "en") == RFM8_EN["重要价值客户"]
    assert label("rfm8", "重要价值客户", "zh") == "重要价值客户"
    assert label("rfm8_en", "Important value", "zh") == "重要价值客户"
    assert label("region", "华东", "en") == "华东"  # unknown values pass through
    assert label("grade", 7, "zh") == 7
    assert label("segment", None, "zh") == "(未分类)"
    assert label("rfm8", "(new)", "zh") == "(新出现)"
    assert len(LABELS_ZH["segment"]) == 11 and len(RFM8_EN) == 8


def test_invalid_language():
    for call in (
        lambda: header("orders", "fr"),
        lambda: label("abc", "A", "de"),
        lambda: text("report_title", "jp"),
        lambda: header("unknown", "xx"),
    ):
        with pytest.raises(ConfigError, match="language"):
            call()
    with pytest.raises(KeyError):
        text("no_such_key", "zh")


def test_translate_frame_labels():
    df = pd.DataFrame({"segment": ["Champions", None, "Lost"], "x": [1, 2, 3]})
    out = translate_frame_labels(df, ["segment", "absent"], "zh")
    assert out["segment"].tolist() == ["冠军客户", "(未分类)", "已流失客户"]
    assert df["segment"].iloc[0] == "Champions"  # the input is not changed
