"""The HTML report: both languages, full and partial, offline, translated."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from kehu.exceptions import ConfigError, SchemaError
from kehu.i18n import LABELS_ZH, RFM8_EN
from kehu.report.html import render_report, write_report
from kehu.services.understanding import ReportData

CHARTS = [
    "chart-classes-rfm8",
    "chart-classes-segment",
    "chart-rfm-heat",
    "chart-migration",
    "chart-cohorts",
    "chart-hot-products",
    "chart-categories",
    "chart-kpi-revenue",
    "chart-kpi-customers",
    "chart-timing",
]


@pytest.fixture(scope="module")
def rendered(full_report_data):
    return {lang: render_report(full_report_data, lang) for lang in ("zh", "en")}


def _visible_text(html: str) -> str:
    """The text a reader sees: no scripts, styles or tags."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_full_report_has_every_section_and_chart(rendered, lang):
    html = rendered[lang]
    for chart in CHARTS:
        assert f'id="{chart}"' in html, chart
    for section in (
        "headline",
        "import",
        "classes",
        "rfm-heat",
        "profiles",
        "migration",
        "cohorts",
        "products",
        "categories",
        "kpis",
        "timing",
        "method",
    ):
        assert f'<section id="{section}">' in html, section
    assert html.count("Plotly.newPlot") >= len(CHARTS)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_is_self_contained(rendered, lang):
    html = rendered[lang]
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    # outside the inlined scripts (plotly.js mentions its own web site in strings)
    markup = re.sub(r"<script>.*?</script>", " ", html, flags=re.S)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", markup)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", html)
    assert html.count("<script>") >= 1
    # plotly.js is inlined once, not once per chart
    assert html.count("plotly.js v") <= 2


def test_zh_report_names_the_classes_in_chinese(rendered):
    html = rendered["zh"]
    for name in RFM8_EN:
        assert name in html
    for name in LABELS_ZH["segment"].values():
        assert name in html
    assert "专属服务" in html  # the playbook action beside 重要价值客户
    assert "客户分类分析报告" in html and "同期群留存" in html


def test_zh_report_has_no_english_left(rendered):
    text = _visible_text(rendered["zh"])
    words = set(re.findall(r"\b[A-Za-z][A-Za-z]{2,}\b", text))
    # proper nouns and technical names that stay as they are
    allowed = {
        "RFM",
        "ABC",
        "VIP",
        "kehu",
        "true",
        "false",
        "null",
        "total",
        "mean",
        "threshold",
        "m_basis",
        "high",
    }
    assert words <= allowed, sorted(words - allowed)


def test_en_report_is_english(rendered):
    html = rendered["en"]
    assert "Customer classification report" in html
    for name in (
        "Important value",
        "Champions",
        "Cohort retention",
        "Recommended action",
        "Exclusive service",
    ):
        assert name in html
    assert "重要价值客户" not in _visible_text(html)


def test_only_customers_renders(minimal_report_data):
    for lang in ("zh", "en"):
        html = render_report(minimal_report_data, lang)
        assert 'id="chart-classes-rfm8"' in html and 'id="chart-rfm-heat"' in html
        assert 'id="chart-migration"' not in html and 'id="chart-cohorts"' not in html
        assert '<section id="method">' in html
    # the class names are in the chart data: escaped by json, written as is by orjson
    # (plotly uses orjson when it is installed)
    html = render_report(minimal_report_data, "zh")
    chart = html.split('id="chart-classes-rfm8"', 1)[1].split("</script>", 1)[0]
    assert json.dumps("重要价值客户")[1:-1] in chart or "重要价值客户" in chart


def test_customers_without_scores_still_render():
    data = ReportData(customers=pd.DataFrame({"customer_id": ["a"], "segment": ["Lost"]}))
    html = render_report(data, "zh")
    assert "<h1>" in html and "chart-rfm-heat" not in html


def test_bad_inputs():
    with pytest.raises(SchemaError, match="customer_id"):
        ReportData(customers=pd.DataFrame({"id": [1]}))
    with pytest.raises(SchemaError, match="DataFrame"):
        ReportData(customers=[1, 2])
    with pytest.raises(ConfigError, match="language"):
        render_report(ReportData(customers=pd.DataFrame({"customer_id": []})), "fr")


def test_headline_figures(minimal_report_data):
    text = _visible_text(render_report(minimal_report_data, "en"))
    assert "650.00" in text  # customer revenue 500 + 120 + 30
    assert "81.25" in text  # AOV 650 / 8 orders
    assert "66.7%" in text  # 2 of 3 customers bought twice or more


def test_write_report_is_atomic_and_readable(tmp_path, minimal_report_data):
    path = write_report(minimal_report_data, tmp_path / "out" / "report.html", "zh")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temporary left
    assert path.stat().st_mode & 0o044  # readable by others like any file the user writes
