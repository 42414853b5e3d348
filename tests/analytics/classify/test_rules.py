"""Custom segments: ordered user filters, first match wins."""

from __future__ import annotations

import json

import ibis
import pyarrow as pa
import pytest

from kehu.analytics.classify.base import Classifier
from kehu.analytics.classify.rules import CustomSegments
from kehu.exceptions import ConfigError, FilterSyntaxError, NotFittedError, SchemaError


@pytest.fixture(scope="module")
def customers() -> ibis.Table:
    return ibis.memtable(
        pa.table(
            {
                "customer_id": ["a", "b", "c", "d", "e"],
                "orders": [5, 1, 8, 2, None],
                "monetary": [6000.0, 50.0, 900.0, 3000.0, 10.0],
                "region": ["华东", "华东", "华北", None, "华南"],
                "rfm8": ["重要价值客户", "一般挽留客户", "一般价值客户", "重要发展客户", None],
            }
        )
    )


SEGMENTS = {
    "华东高频": "frequency >= 4 and 区域 = '华东'",
    "大客户": "monetary >= 1000",
    "价值客户": "rfm8 in ('重要价值客户', '一般价值客户')",
}


def labels(table: ibis.Table) -> dict[str, str | None]:
    df = table.select("customer_id", "custom_segment").to_pyarrow().to_pylist()
    return {r["customer_id"]: r["custom_segment"] for r in df}


def test_first_matching_segment_wins(customers):
    seg = CustomSegments(SEGMENTS)
    # a matches all three filters but gets the first; c matches only the third
    assert labels(seg.fit_transform(customers)) == {
        "a": "华东高频",
        "b": None,
        "c": "价值客户",
        "d": "大客户",
        "e": None,
    }


def test_order_matters_and_list_form(customers):
    seg = CustomSegments(
        [("大客户", SEGMENTS["大客户"]), ("华东高频", SEGMENTS["华东高频"])], "其他"
    )
    assert labels(seg.fit_transform(customers)) == {
        "a": "大客户",
        "b": "其他",
        "c": "其他",
        "d": "大客户",
        "e": "其他",
    }


def test_no_segments_gives_the_default(customers):
    out = CustomSegments({}, default="全部").fit_transform(customers)
    assert set(labels(out).values()) == {"全部"}


def test_is_a_classifier_with_name_version_outputs():
    seg = CustomSegments(SEGMENTS)
    assert isinstance(seg, Classifier)
    assert (seg.name, seg.version, seg.outputs) == ("custom", "custom/1", ("custom_segment",))
    assert seg.requires == ("customer_id", "monetary", "orders", "region", "rfm8")
    assert seg.get_params() == {"segments": SEGMENTS, "default": None}


def test_bad_filter_is_rejected_in_init_naming_the_segment():
    with pytest.raises(FilterSyntaxError) as info:
        CustomSegments({"好客户": "orders >= 4", "坏的": "monetary >= and x"})
    assert info.value.position == 12
    assert info.value.reason.startswith("segment '坏的':")
    assert "monetary >= and x" in str(info.value)


def test_unknown_column_is_reported_at_fit_naming_the_segment(customers):
    seg = CustomSegments({"渠道": "channel = '超市'"})
    with pytest.raises(SchemaError, match="channel"):  # requires is checked first
        seg.fit(customers)
    seg = CustomSegments({"类型": "region = 5"})
    with pytest.raises(FilterSyntaxError, match="segment '类型': type mismatch"):
        seg.fit(customers)


@pytest.mark.parametrize(
    "segments",
    [[("a", "orders > 1"), ("a", "orders > 2")], [("", "orders > 1")], [("a",)], [(1, "x > 1")]],
)
def test_bad_segment_definitions(segments):
    with pytest.raises(ConfigError):
        CustomSegments(segments)


def test_transform_before_fit(customers):
    with pytest.raises(NotFittedError):
        CustomSegments(SEGMENTS).transform(customers)


def test_record_is_json_and_lists_the_filters(customers):
    seg = CustomSegments(SEGMENTS, default="其他").fit(customers)
    rec = seg.record()
    json.dumps(rec, ensure_ascii=False)
    assert rec["classifier"] == "custom"
    assert rec["thresholds"]["default"] == "其他"
    first = rec["thresholds"]["segments"][0]
    assert first == {
        "name": "华东高频",
        "filter": SEGMENTS["华东高频"],
        "columns": ["orders", "region"],
    }


def test_explain_says_which_filter_matched_and_which_did_not(customers):
    seg = CustomSegments(SEGMENTS, default="其他")
    rows = {r["customer_id"]: r for r in seg.fit_transform(customers).to_pyarrow().to_pylist()}
    ex = seg.explain(rows["c"])
    assert ex.label == "价值客户"
    assert ex.extra == {"matched_index": 2, "not_matched": ["华东高频", "大客户"]}
    assert "matched '价值客户'" in ex.reason and "not '大客户'" in ex.reason
    assert "满足「价值客户」" in ex.reason_zh
    assert ex.inputs["rfm8"] == "一般价值客户"

    ex = seg.explain(rows["b"])
    assert ex.label == "其他" and ex.extra["matched_index"] is None
    assert ex.extra["not_matched"] == list(SEGMENTS)
    assert "no filter matched" in ex.reason

    with pytest.raises(ConfigError):
        seg.explain({"customer_id": "x"})


def test_empty_table():
    t = ibis.memtable(pa.table({"customer_id": pa.array([], pa.string()),
                                "orders": pa.array([], pa.int64())}))  # fmt: skip
    out = CustomSegments({"多": "orders > 1"}).fit_transform(t)
    assert out.count().execute() == 0
    assert "custom_segment" in out.columns
