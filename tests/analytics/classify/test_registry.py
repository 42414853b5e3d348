"""The classifier registry: build, classify, records."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import kehu.analytics.classify as classify_pkg
from kehu.analytics.classify import (
    NAMES,
    RULE_CLASSIFIERS,
    Classifier,
    build,
    classify,
)
from kehu.analytics.features import customer_features
from kehu.exceptions import ConfigError


def _orders() -> pd.DataFrame:
    rows = []
    # customer i buys i times, 10 days apart, i * 10 each time
    for i in range(1, 9):
        for k in range(i):
            rows.append(
                (f"c{i}", f"o{i}-{k}", f"2024-0{1 + k % 6}-0{1 + k % 9}", "p1", 1.0, 10.0 * i)
            )
    df = pd.DataFrame(
        rows, columns=["customer_id", "order_id", "order_time", "product_id", "quantity", "amount"]
    )
    df["order_time"] = pd.to_datetime(df.order_time)
    return df


def test_registry_order_and_names():
    registry = classify_pkg.CLASSIFIERS
    assert tuple(registry)[: len(RULE_CLASSIFIERS)] == RULE_CLASSIFIERS
    assert RULE_CLASSIFIERS == (
        "rfm8",
        "segment",
        "freq_tier",
        "spend_tier",
        "abc",
        "lifecycle",
        "grade",
    )
    assert NAMES[-2:] == ("cluster", "custom")
    for name in RULE_CLASSIFIERS:
        cls = registry[name]
        assert issubclass(cls, Classifier)
        assert cls.name == name
        assert cls.version.startswith(f"{name}/")
        assert cls.outputs[0] == name


def test_build():
    clf = build("rfm8", threshold="median")
    assert clf.get_params()["threshold"] == "median"
    with pytest.raises(ConfigError, match=r"unknown classifier 'rmf8'.*rfm8, segment"):
        build("rmf8")
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) thresh.*threshold"):
        build("rfm8", thresh="mean")
    with pytest.raises(ConfigError, match="unknown threshold method"):
        build("rfm8", threshold="mode")


def test_classify_runs_every_rule_and_records_are_json():
    f = customer_features(_orders(), as_of="2024-07-01").cache()
    table, fitted = classify(f, params={"grade": {"n_grades": 4}})
    out = table.to_pandas()
    assert len(out) == 8
    for clf in fitted:
        for col in clf.outputs:
            assert out[col].notna().all(), col
        json.dumps(clf.record())
        ex = clf.explain(out.iloc[0].to_dict())
        assert ex.customer_id == out.customer_id.iloc[0]
        # the explanation agrees with the column
        assert ex.label == out[clf.outputs[0]].iloc[0]
    assert [c.name for c in fitted] == list(RULE_CLASSIFIERS)
    assert set(out.grade) <= {1, 2, 3, 4}


def test_classify_subset_and_bad_params():
    f = customer_features(_orders(), as_of="2024-07-01")
    table, fitted = classify(f, names=("abc",))
    assert "abc" in table.columns and "rfm8" not in table.columns
    assert len(fitted) == 1
    with pytest.raises(ConfigError, match="not run: rfm8"):
        classify(f, names=("abc",), params={"rfm8": {}})
    with pytest.raises(ConfigError, match="listed twice"):
        classify(f, names=("abc", "abc"))
    with pytest.raises(ConfigError, match="quantile"):
        classify(f, params={"rfm8": {"quantile": 2}})


def test_classify_empty_features():
    f = customer_features(_orders().iloc[:0], as_of="2024-07-01")
    table, fitted = classify(f)
    out = table.to_pandas()
    assert len(out) == 0
    for clf in fitted:
        assert set(clf.outputs) <= set(out.columns)
        json.dumps(clf.record())
