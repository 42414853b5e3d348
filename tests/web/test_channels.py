"""Channels and distributors: figures against targets, drill-down links, roles, languages."""

from __future__ import annotations

import pytest

from kehu.services import targets
from kehu.services.access import SYSTEM


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_manager_sees_every_channel_with_targets_and_chart(pages, api_store, lang):
    with api_store() as s:
        targets.set_targets(
            s,
            actor=SYSTEM,
            rows=[{"month": "2024-06", "dimension": "channel", "name": "超市", "sales": 8000}],
        )
        s.commit()
    r = pages("boss", lang=lang).get("/channels", params={"month": "2024-06"})
    assert r.status_code == 200
    html = r.text
    assert "web_" not in html.split("<main>")[1]
    for channel in ("超市", "便利店", "餐饮", "批发商"):
        assert channel in html
    assert "/customers?channel=%E8%B6%85%E5%B8%82" in html  # drill-down to 超市's customers
    assert 'class="chart-area"' in html
    assert "50%" in html  # 超市: ¥4,000 of ¥8,000
    assert "¥4,100" in html  # the month's total


def test_rep_sees_only_their_own_channels(pages, api_store):
    html = pages("wang").get("/channels", params={"month": "2024-06"}).text
    assert "超市" in html and "便利店" in html
    assert "餐饮" not in html and "批发商" not in html
    assert "¥4,100" not in html


def test_a_month_without_sales_shows_zeros_and_no_chart_bars(pages, api_store):
    r = pages("boss", lang="en").get("/channels", params={"month": "2020-01"})
    assert r.status_code == 200
    assert "¥0.00" in r.text


def test_distributor_drill_down_uses_the_filter_language(pages, api_store):
    with api_store() as s:
        from kehu.services import customers

        customers.update_customer(s, actor=SYSTEM, code="C1", distributor="华联")
        s.commit()
    html = pages("boss").get("/channels", params={"month": "2024-06"}).text
    assert "filter=distributor+%3D+%27%E5%8D%8E%E8%81%94%27" in html
    listed = pages("boss").get("/customers", params={"filter": "distributor = '华联'"})
    assert listed.status_code == 200 and "/customers/C1" in listed.text
    assert "/customers/C2" not in listed.text


def test_distributor_filter_quotes():
    from kehu.web.pages.channels import distributor_filter

    assert distributor_filter("O'Brien") == "distributor = 'O''Brien'"
