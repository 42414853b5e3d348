"""Cohort retention and repeat-purchase rate on hand-made orders."""

from __future__ import annotations

import pandas as pd
import pytest

from kehu.analytics.cohorts import cohort_retention, repeat_purchase_rate
from kehu.exceptions import ConfigError


def _cells(df):
    return {
        (str(r.cohort)[:7], r.period_index): (r.customers, r.retention) for r in df.itertuples()
    }


def test_cohort_retention_matrix_by_hand(hand_orders):
    r = cohort_retention(hand_orders.copy()).to_pandas()
    assert _cells(r) == {
        # cohort January (a, b): a buys in Feb (b only returns), both in March
        ("2024-01", 0): (2, 1.0),
        ("2024-01", 1): (1, 0.5),
        ("2024-01", 2): (2, 1.0),
        # cohort February (c) buys again in March; d's cohort is March
        ("2024-02", 0): (1, 1.0),
        ("2024-02", 1): (1, 1.0),
        ("2024-03", 0): (1, 1.0),
    }
    assert r.groupby(r["cohort"].astype(str))["cohort_size"].first().tolist() == [2, 1, 1]


def test_cohort_retention_quarter_and_week(hand_orders):
    q = cohort_retention(hand_orders.copy(), period="quarter").to_pandas()
    assert _cells(q) == {("2024-01", 0): (4, 1.0)}
    w = cohort_retention(hand_orders.copy(), period="week").to_pandas()
    # a and b start in the week of 1 Jan; a buys in weeks +5 (5 Feb) and +10
    # (15 Mar), b in week +12 (25 Mar)
    first = w[w["cohort"].astype(str) == "2024-01-01"]
    assert dict(zip(first.period_index, first.customers, strict=True)) == {0: 2, 5: 1, 10: 1, 12: 1}


def test_cohort_retention_bad_period(hand_orders):
    with pytest.raises(ConfigError, match="period"):
        cohort_retention(hand_orders.copy(), period="year")


def test_repeat_purchase_rate_overall_and_per_cohort(hand_orders):
    r = repeat_purchase_rate(hand_orders.copy()).to_pandas().iloc[0]
    # orders: a 3, b 2 (the return is no order), c 2, d 1
    assert (r.customers, r.repeat_customers, r.repeat_rate) == (4, 3, 0.75)
    c = repeat_purchase_rate(hand_orders.copy(), by_cohort=True).to_pandas()
    assert [str(x)[:7] for x in c["cohort"]] == ["2024-01", "2024-02", "2024-03"]
    assert c["repeat_rate"].tolist() == [1.0, 1.0, 0.0]


def test_empty_orders(hand_orders):
    empty = hand_orders.copy().iloc[:0]
    assert len(cohort_retention(empty).to_pandas()) == 0
    r = repeat_purchase_rate(empty).to_pandas().iloc[0]
    assert r.customers == 0 and pd.isna(r.repeat_rate)


@pytest.mark.realdata
def test_cohorts_on_cdnow(shared_data):
    import ibis

    raw = ibis.read_parquet(shared_data / "cdnow" / "cdnow_master.parquet")
    o = raw.select(
        customer_id=raw.customer_id.cast("string"),
        order_time=raw.date.cast("timestamp"),
        amount=raw.dollar_value,
    )
    r = cohort_retention(o).to_pandas()
    # the CDNOW cohort made its first purchase in Q1 1997: three monthly cohorts
    assert sorted({str(c)[:7] for c in r["cohort"]}) == ["1997-01", "1997-02", "1997-03"]
    assert r.loc[r.period_index == 0, "cohort_size"].sum() == 23570
    assert (r.loc[r.period_index == 0, "retention"] == 1.0).all()
    assert ((r.retention > 0) & (r.retention <= 1)).all()
