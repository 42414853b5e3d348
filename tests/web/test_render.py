"""Numbers as each language's readers expect them (hand-written cases)."""

from __future__ import annotations

import pytest

from kehu.web.render import money, pct


@pytest.mark.parametrize(
    ("value", "lang", "shown"),
    [
        (12345, "en", "¥12,345"),
        (12345, "zh", "¥12,345"),
        (123456, "zh", "¥12.3万"),  # 100,000 and more in 万 for Chinese readers
        (123456, "en", "¥123,456"),
        (5.5, "en", "¥5.50"),
        (-231, "en", "-¥231"),  # the sign before the currency
        (-123456, "zh", "-¥12.3万"),
        (None, "zh", "–"),
        (float("nan"), "en", "–"),
    ],
)
def test_money(value, lang, shown):
    assert money(value, lang) == shown


def test_pct():
    assert pct(0.4071, 1) == "40.7%" and pct(None) == "–"
