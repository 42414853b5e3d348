"""The report in a real browser: offline, the inlined plotly.js draws every chart."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kehu.report.html import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=10000",
]


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)"
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_charts_draw_offline_in_chromium(full_report_data, tmp_path, lang):
    page = write_report(full_report_data, tmp_path / "report.html", lang)
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    charts = page.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    assert charts >= 5
    # plotly adds one <svg class="main-svg"> layer set per drawn chart; none without JS
    assert dom.count('class="main-svg"') >= charts
    assert ("客户分类分析报告" if lang == "zh" else "Customer classification report") in dom
