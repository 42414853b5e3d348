"""The RFM contract, column by column, against values computed by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from kehu.analytics.rfm import default_as_of, quintile_score, rfm_summary
from kehu.analytics.schema import RFM_COLUMNS, to_table
from kehu.exceptions import SchemaError


def _orders() -> pd.DataFrame:
    # a: order 1 (two lines, 6 + 4) on 01-01, order 2 (20) on 01-05
    # b: order 3 (5) on 01-03
    # c: order 4 (3 + 4) on 01-02, order 5 (100) on 01-08, a return C9 (-17) on 01-09
    # anonymous walk-in sale (7) on 01-08; d: only a return on 01-09 (no purchase, so no row)
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c", "c", "c", "c", None, "d"],
            "order_id": ["1", "1", "2", "3", "4", "4", "5", "C9", "6", "C7"],
            "order_time": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 09:00",
                    "2024-01-05 18:30",
                    "2024-01-03 00:00",
                    "2024-01-02 00:00",
                    "2024-01-02 00:00",
                    "2024-01-08 23:59",
                    "2024-01-09 00:00",
                    "2024-01-08 00:00",
                    "2024-01-09 00:00",
                ]
            ),
            "amount": [6.0, 4.0, 20.0, 5.0, 3.0, 4.0, 100.0, -17.0, 7.0, -5.0],
            "is_return": [False] * 7 + [True, False, True],
        }
    )


def _by_id(table) -> pd.DataFrame:
    return table.to_pandas().set_index("customer_id").sort_index()


def test_contract_columns_in_order():
    assert tuple(rfm_summary(_orders(), as_of="2024-01-10").columns) == RFM_COLUMNS


def test_hand_computed_values():
    got = _by_id(rfm_summary(_orders(), as_of="2024-01-10"))
    assert list(got.index) == ["a", "b", "c"]  # d has only a return; anonymous lines are out
    day = pd.Timestamp
    assert list(got.first_purchase) == [day("2024-01-01"), day("2024-01-03"), day("2024-01-02")]
    # c's return on 01-09 is not a purchase: the last purchase stays 01-08
    assert list(got.last_purchase) == [day("2024-01-05"), day("2024-01-03"), day("2024-01-08")]
    assert list(got.recency_days) == [5, 7, 2]
    assert list(got.orders) == [2, 1, 2]
    assert list(got.monetary) == [30.0, 5.0, 90.0]  # c: 3 + 4 + 100 - 17, netted
    assert list(got.avg_order_value) == [15.0, 5.0, 45.0]
    # n = 3, score = 1 + 5 * rank // 2 with 0-based min ranks:
    # recency desc: b(7) rank 0 -> 1, a(5) rank 1 -> 3, c(2) rank 2 -> 6 capped to 5
    assert list(got.r_score) == [3, 1, 5]
    # orders asc: b(1) rank 0 -> 1; a and c tie on 2 at rank 1 -> 3 both
    assert list(got.f_score) == [3, 1, 3]
    # monetary asc: b(5) -> 1, a(30) -> 3, c(90) -> 5
    assert list(got.m_score) == [3, 1, 5]


def test_default_as_of_is_day_after_last_order():
    assert default_as_of(to_table(_orders())) == dt.date(2024, 1, 10)
    got = _by_id(rfm_summary(_orders()))
    assert list(got.recency_days) == [5, 7, 2]


def test_window_and_as_of_exclusive():
    # window of 6 days before 01-10 starts 01-04: a keeps order 2 only, b drops out
    got = _by_id(rfm_summary(_orders(), as_of="2024-01-10", window_days=6))
    assert list(got.index) == ["a", "c"]
    assert list(got.orders) == [1, 1]
    assert list(got.monetary) == [20.0, 83.0]
    assert list(got.first_purchase) == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-08")]
    # as-of is exclusive: on 01-08 nothing of that day counts
    got = _by_id(rfm_summary(_orders(), as_of="2024-01-08"))
    assert got.loc["c", "orders"] == 1
    assert got.loc["c", "monetary"] == 7.0


def test_without_order_id_distinct_timestamps_are_orders():
    df = _orders().drop(columns=["order_id"])
    got = _by_id(rfm_summary(df, as_of="2024-01-10"))
    # a: the two 09:00 lines are one order, 18:30 another
    assert got.loc["a", "orders"] == 2
    assert got.loc["c", "orders"] == 2


def test_null_order_id_falls_back_to_timestamp():
    df = _orders()
    df.loc[df.customer_id == "a", "order_id"] = None
    assert _by_id(rfm_summary(df, as_of="2024-01-10")).loc["a", "orders"] == 2


def test_is_return_defaults_to_negative_amount():
    df = _orders().drop(columns=["is_return"])
    got = _by_id(rfm_summary(df, as_of="2024-01-10"))
    assert got.loc["c", "last_purchase"] == pd.Timestamp("2024-01-08")
    assert got.loc["c", "orders"] == 2


def test_scores_are_quintiles_and_ties_share_a_score():
    df = pd.DataFrame({"v": [*range(1, 11), 10]})
    t = to_table(df)
    got = t.mutate(s=quintile_score(t.v)).order_by("v").to_pandas()
    # ranks 0..9 and 10 (tie at the top takes min rank 9); 1 + 5*rank//10
    assert list(got.s) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5]
    desc = t.mutate(s=quintile_score(t.v, descending=True)).order_by("v").to_pandas()
    assert list(desc.s) == [5, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_all_equal_values_get_one_score():
    t = to_table(pd.DataFrame({"v": [3, 3, 3]}))
    assert set(t.mutate(s=quintile_score(t.v)).to_pandas().s) == {1}


def test_single_customer():
    df = _orders().query("customer_id == 'b'")
    got = _by_id(rfm_summary(df, as_of="2024-01-10"))
    assert got.loc["b", ["r_score", "f_score", "m_score"]].tolist() == [1, 1, 1]


def test_empty_input_gives_no_rows():
    df = _orders().iloc[0:0]
    assert rfm_summary(df, as_of="2024-01-10").to_pandas().empty


def test_empty_input_without_as_of_is_a_clear_error():
    with pytest.raises(SchemaError, match="no orders"):
        rfm_summary(_orders().iloc[0:0])


def test_missing_column_lists_what_was_found():
    expected = r"missing column\(s\) amount.*columns found: customer_id"
    with pytest.raises(SchemaError, match=expected):
        rfm_summary(_orders().drop(columns=["amount"]))


def test_bad_as_of_and_window():
    with pytest.raises(SchemaError, match="not a date"):
        rfm_summary(_orders(), as_of="10/01/2024")
    with pytest.raises(SchemaError, match="window_days"):
        rfm_summary(_orders(), as_of="2024-01-10", window_days=0)


def test_accepts_arrow_and_polars():
    pl = pytest.importorskip("polars")
    expected = _by_id(rfm_summary(_orders(), as_of="2024-01-10"))
    arrow = pa.Table.from_pandas(_orders(), preserve_index=False)
    pd.testing.assert_frame_equal(_by_id(rfm_summary(arrow, as_of="2024-01-10")), expected)
    polars_df = pl.from_pandas(_orders())
    pd.testing.assert_frame_equal(_by_id(rfm_summary(polars_df, as_of="2024-01-10")), expected)
