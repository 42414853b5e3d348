"""The playbook: defaults, user edits merged over them, and errors."""

from __future__ import annotations

import pytest
import yaml

from kehu.analytics.playbook import FIELDS, Playbook
from kehu.exceptions import ConfigError
from kehu.i18n import LABELS_ZH, RFM8_EN


def test_defaults_cover_every_class_in_both_languages():
    pb = Playbook.default()
    expected = {
        "rfm8": list(RFM8_EN),
        **{
            c: list(LABELS_ZH[c])
            for c in ("segment", "lifecycle", "freq_tier", "spend_tier", "abc")
        },
    }
    for clf, classes in expected.items():
        for cls in classes:
            for lang in ("zh", "en"):
                entry = pb.for_class(clf, cls, lang)
                assert entry is not None, (clf, cls, lang)
                assert set(entry) == set(FIELDS) and all(entry.values()), (clf, cls, lang)
    assert len(pb.entries["segment"]) == 11 and len(pb.entries["rfm8"]) == 8


def test_default_texts_follow_retail_practice():
    pb = Playbook.default()
    assert "VIP" in pb.for_class("rfm8", "重要价值客户", "zh")["action"]
    assert "优惠券" in pb.for_class("freq_tier", "medium", "zh")["action"]
    assert "节假日" in pb.for_class("freq_tier", "low", "zh")["action"]
    assert "小包装" in pb.for_class("spend_tier", "low", "zh")["action"]
    assert "win back" in pb.for_class("rfm8", "重要挽留客户", "en")["action"].lower()


def test_lookup_accepts_loose_and_english_names():
    pb = Playbook.default()
    assert pb.for_class("rfm8_en", "Important value", "en") == pb.for_class(
        "rfm8", "重要价值客户", "en"
    )
    assert pb.for_class("segment", "cannot_lose_them", "zh") is not None
    assert pb.for_class("segment", "Nobody", "zh") is None
    assert pb.for_class("region", "华东", "zh") is None
    with pytest.raises(ConfigError, match="language"):
        pb.for_class("abc", "A", "fr")


def test_from_config_merges_only_what_is_written():
    pb = Playbook.from_config(
        {
            "abc": {"A": {"zh": {"offer": "年度返利"}}},
            "freq_tier": {"low": {"action": "Call them", "cadence": "weekly"}},
            "custom_segment": {"华东大店": {"zh": {"action": "重点拜访"}}},
        }
    )
    default = Playbook.default()
    a_zh = pb.for_class("abc", "A", "zh")
    assert a_zh["offer"] == "年度返利"
    assert a_zh["action"] == default.for_class("abc", "A", "zh")["action"]
    assert pb.for_class("abc", "A", "en") == default.for_class("abc", "A", "en")
    # fields given without a language set both languages
    assert pb.for_class("freq_tier", "low", "zh")["action"] == "Call them"
    assert pb.for_class("freq_tier", "low", "en")["cadence"] == "weekly"
    assert (
        pb.for_class("freq_tier", "low", "en")["channel"]
        == default.for_class("freq_tier", "low", "en")["channel"]
    )
    # user-named classes may be added
    assert pb.for_class("custom_segment", "华东大店", "zh")["action"] == "重点拜访"
    assert default.for_class("abc", "A", "zh")["offer"] != "年度返利"  # defaults untouched


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"vip_level": {"x": {"action": "a"}}}, "unknown classifier 'vip_level'"),
        ({"rfm8": {"超级客户": {"action": "a"}}}, "unknown class '超级客户'"),
        ({"abc": {"A": {"fr": {"action": "a"}}}}, "unknown key 'fr'"),
        ({"abc": {"A": {"zh": {"budget": 3}}}}, "unknown field 'budget'"),
        ({"abc": ["A"]}, "expected a mapping"),
        (["abc"], "expected a mapping"),
    ],
)
def test_from_config_errors(config, match):
    with pytest.raises(ConfigError, match=match):
        Playbook.from_config(config)


def test_yaml_round_trip_and_file_errors(tmp_path):
    pb = Playbook.default()
    path = tmp_path / "pb.yaml"
    path.write_text(pb.to_yaml(), encoding="utf-8")
    assert Playbook.from_yaml(path).entries == pb.entries
    path.write_text("abc:\n  A:\n    zh:\n      action: 专人负责\n", encoding="utf-8")
    assert Playbook.from_yaml(path).for_class("abc", "A", "zh")["action"] == "专人负责"
    path.write_text("abc: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Playbook.from_yaml(path)
    with pytest.raises(ConfigError, match="cannot read"):
        Playbook.from_yaml(tmp_path / "missing.yaml")
    assert yaml.safe_load(pb.to_yaml())["rfm8"]["重要价值客户"]["zh"]["action"]


def test_to_frame_lists_every_entry():
    df = Playbook.default().to_frame("en")
    assert len(df) == 8 + 11 + 5 + 3 + 3 + 3
    assert list(df.columns) == ["classifier", "class", *FIELDS]
    assert "Important value" in set(df["class"]) and "Champions" in set(df["class"])
