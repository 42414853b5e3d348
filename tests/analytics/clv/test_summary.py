"""The CLV summary against lifetimes 0.11.3 (values frozen here) and by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from kehu.analytics.clv import HOLDOUT_COLUMNS, SUMMARY_COLUMNS, clv_summary
from kehu.exceptions import KehuError, SchemaError


def hand_orders() -> pd.DataFrame:
    """a: two purchases on 1 Jan count once; d buys first in the holdout."""
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c", "c", "c", "d"],
            "order_time": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 18:00",
                    "2024-01-15",
                    "2024-02-05",
                    "2024-01-10",
                    "2024-01-20",
                    "2024-02-20",
                    "2024-02-20",
                    "2024-02-15",
                ],
                format="ISO8601",
            ),
            "amount": [10.0, 5.0, 20.0, 30.0, 7.0, 4.0, 6.0, 8.0, 9.0],
        }
    )


def by_id(table) -> pd.DataFrame:
    return table.to_pandas().set_index("customer_id")


def test_calibration_and_holdout_equal_lifetimes():
    # lifetimes.utils.calibration_and_holdout_data(freq="D", freq_multiplier=7)
    s = by_id(
        clv_summary(hand_orders(), calibration_end="2024-01-31", observation_end="2024-02-29")
    )
    assert list(s.columns) == [*SUMMARY_COLUMNS[1:], *HOLDOUT_COLUMNS]
    assert list(s.index) == ["a", "b", "c"]  # d's first purchase is after calibration
    assert s.frequency.tolist() == [1, 0, 0]
    assert s.recency.tolist() == pytest.approx([2.0, 0.0, 0.0])
    assert s["T"].tolist() == pytest.approx([4.285714286, 3.0, 1.571428571])
    assert s.monetary_value.tolist() == pytest.approx([20.0, 0.0, 0.0])
    assert s.frequency_holdout.tolist() == [1, 0, 1]
    assert s.duration_holdout.tolist() == pytest.approx([29 / 7] * 3)
    # lifetimes gives c 7.0 here: it averages holdout *lines* (6 and 8), although it sums
    # same-day lines in calibration; kehu treats both periods alike: one purchase day of 14
    assert s.monetary_value_holdout.tolist() == pytest.approx([30.0, 0.0, 14.0])


def test_day_unit_equals_lifetimes_summary():
    # lifetimes.utils.summary_data_from_transaction_data(freq="D", observation_period_end=29 Feb)
    s = by_id(clv_summary(hand_orders(), calibration_end="2024-02-29", unit="day"))
    assert s.frequency.tolist() == [2, 0, 1, 0]
    assert s.recency.tolist() == [35.0, 0.0, 31.0, 0.0]
    assert s["T"].tolist() == [59.0, 50.0, 40.0, 14.0]
    assert s.monetary_value.tolist() == [25.0, 0.0, 14.0, 0.0]


def test_returns_are_netted_not_counted():
    orders = pd.DataFrame(
        {
            "customer_id": ["e", "e", "e", "e", "f", "f", "f", "g"],
            "order_time": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-10",
                    "2024-01-12",
                    "2024-01-02",
                    "2024-01-05",
                    "2024-01-06",
                    "2024-01-03",
                ]
            ),
            "amount": [100.0, -30.0, 50.0, -20.0, 10.0, 5.0, -8.0, -4.0],
            "is_return": [False, True, False, True, False, False, True, True],
        }
    )
    s = by_id(clv_summary(orders, calibration_end="2024-01-14", unit="day"))
    assert list(s.index) == ["e", "f"]  # g only returned something: not a customer here
    # e: the first-day return nets into the first purchase; the 12 Jan return into repeats
    assert s.loc["e"].tolist() == pytest.approx([1, 9.0, 13.0, 30.0])
    # f: returns exceed the repeat purchase, so its value is 0, not negative
    assert s.loc["f"].tolist() == pytest.approx([1, 3.0, 12.0, 0.0])


def test_negative_amounts_mark_returns_without_is_return():
    orders = hand_orders().iloc[:3].assign(amount=[10.0, -5.0, 20.0])
    s = by_id(clv_summary(orders, calibration_end="2024-01-31"))
    assert s.loc["a", "frequency"] == 1
    assert s.loc["a", "monetary_value"] == pytest.approx(20.0)


def test_default_calibration_end_is_last_order_day():
    s = by_id(clv_summary(hand_orders(), unit="day"))
    assert s.loc["a", "T"] == 50.0  # 1 Jan to 20 Feb


def test_bad_input_raises_one_kehu_error():
    with pytest.raises(SchemaError, match="order_time"):
        clv_summary(pd.DataFrame({"customer_id": ["a"], "amount": [1.0]}))
    with pytest.raises(SchemaError, match="calibration period is empty"):
        clv_summary(hand_orders(), calibration_end="2023-12-31")
    with pytest.raises(SchemaError, match="after calibration_end"):
        clv_summary(hand_orders(), calibration_end="2024-01-31", observation_end="2024-01-31")
    with pytest.raises(SchemaError, match="unit"):
        clv_summary(hand_orders(), unit="fortnight")
    with pytest.raises(SchemaError, match="unit"):
        clv_summary(hand_orders(), unit=0)
    with pytest.raises(KehuError, match="not a date"):
        clv_summary(hand_orders(), calibration_end="soon")
    empty = hand_orders().assign(customer_id=None)
    with pytest.raises(SchemaError, match="no orders"):
        clv_summary(empty)


@pytest.mark.realdata
def test_cdnow_totals_equal_lifetimes(cdnow_summary):
    s = cdnow_summary
    # lifetimes 0.11.3 calibration_and_holdout_data(freq="D", freq_multiplier=7) on the sample
    assert len(s) == 2357
    assert s.frequency.sum() == 2457
    assert s.recency.sum() == pytest.approx(16135.571429, abs=1e-5)
    assert s["T"].sum() == pytest.approx(77111.285714, abs=1e-5)
    assert s.monetary_value.sum() == pytest.approx(33183.643767, abs=1e-5)
    assert s.frequency_holdout.sum() == 1882
    assert s.duration_holdout.sum() == pytest.approx(91923.0)
    assert s.recency.max() <= s["T"].max() == pytest.approx(272 / 7)
    # per purchase day; lifetimes' per-line holdout mean sums to 24901.080244
    assert s.monetary_value_holdout.sum() == pytest.approx(25495.940282, abs=1e-5)


def test_return_only_days_count_only_after_the_first_purchase():
    # h returns something before ever buying (1 Jan), buys on 3 Jan, returns on 5 Jan, buys on
    # 8 Jan; i's only repeat day is cancelled by a later return: value 0, not a rounding residue
    orders = pd.DataFrame(
        {
            "customer_id": ["h", "h", "h", "h", "i", "i", "i"],
            "order_time": pd.to_datetime(
                [
                    *["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-08"],  # h
                    *["2024-01-02", "2024-01-04", "2024-01-06"],  # i
                ]
            ),
            "amount": [-5.0, 10.0, -2.0, 20.0, 0.1, 0.2, -0.2],
        }
    )
    s = by_id(clv_summary(orders, calibration_end="2024-01-14", unit="day"))
    # repeat value of h: -2 (5 Jan) + 20 (8 Jan); the 1 Jan return is before the first purchase
    assert s.loc["h"].tolist() == pytest.approx([1, 5.0, 11.0, 18.0])
    assert s.loc["i"].tolist() == [1, 2.0, 12.0, 0.0]
