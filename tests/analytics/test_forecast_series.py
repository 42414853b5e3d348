"""Sales series: aggregation with a calendar spine in the engine, and validation."""

from __future__ import annotations

import pandas as pd
import pytest

from kehu.analytics.forecast import Forecaster, prepare_series, sales_series
from kehu.exceptions import ConfigError, KehuError, SchemaError


@pytest.fixture
def orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", None, "c"],
            "product_id": ["p", "q", "p", "x", "q"],
            "order_time": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-03 10:00",
                    "2024-01-03 18:30",
                    "2024-01-10 08:00",
                    "2024-02-05 12:00",
                ]
            ),
            "quantity": [2.0, 1.0, -1.0, 4.0, 3.0],
            "amount": [10.0, 7.0, -5.0, 1.0, 21.0],
            "channel": ["shop", "online", "shop", None, "online"],
        }
    )


def _frame(t) -> pd.DataFrame:
    df = t.to_pandas()
    df["ds"] = pd.to_datetime(df["ds"])
    return df


def test_total_daily_fills_gaps_and_nets_returns(orders):
    df = _frame(sales_series(orders, freq="D"))
    assert list(df.columns) == ["series_id", "ds", "y"]
    assert (df.series_id == "total").all()
    assert len(df) == 36  # 2024-01-01 .. 2024-02-05
    by_day = df.set_index("ds")["y"]
    assert by_day["2024-01-01"] == 10.0
    assert by_day["2024-01-02"] == 0.0
    assert by_day["2024-01-03"] == 2.0  # 7 sold, 5 returned
    assert by_day.sum() == pytest.approx(34.0)


def test_weekly_by_product_starts_monday_and_runs_to_the_end(orders):
    df = _frame(sales_series(orders, by="product_id", freq="W", measure="quantity"))
    assert (df.ds.dt.day_of_week == 0).all()
    p = df[df.series_id == "p"].set_index("ds")["y"]
    # p sold 2 and got 1 back in the week of 2024-01-01, then nothing until the last week
    assert p.index.min() == pd.Timestamp("2024-01-01")
    assert p.index.max() == pd.Timestamp("2024-02-05")
    assert p.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    x = df[df.series_id == "x"]
    assert x.ds.min() == pd.Timestamp("2024-01-08") and len(x) == 5  # from its first week


def test_monthly_by_category_with_unknown_products(orders):
    products = pd.DataFrame({"product_id": ["p", "q", "q"], "category": ["饮料", "零食", "零食"]})
    df = _frame(sales_series(orders, by="category", freq="M", products=products))
    got = {(r.series_id, r.ds.month): r.y for r in df.itertuples()}
    # duplicate product rows must not double the sales
    assert got == {("(unknown)", 1): 1.0, ("(unknown)", 2): 0.0, ("饮料", 1): 5.0,
                   ("饮料", 2): 0.0, ("零食", 1): 7.0, ("零食", 2): 21.0}  # fmt: skip


def test_region_from_customers_province_then_country(orders):
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "province": ["浙江", None, "浙江"], "country": ["CN"] * 3}
    )
    df = _frame(sales_series(orders, by="region", freq="M", customers=customers))
    totals = df.groupby("series_id")["y"].sum().to_dict()
    assert totals == {"浙江": 26.0, "CN": 7.0, "(unknown)": 1.0}


def test_channel_from_orders(orders):
    df = _frame(sales_series(orders, by="channel", freq="M"))
    assert df.groupby("series_id")["y"].sum().to_dict() == {
        "shop": 5.0,
        "online": 28.0,
        "(unknown)": 1.0,
    }


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"freq": "H"}, ConfigError, "unknown frequency"),
        ({"by": "brand"}, ConfigError, "by must be"),
        ({"measure": "profit"}, ConfigError, "measure"),
        ({"by": "category"}, SchemaError, "products"),
        ({"by": "region"}, SchemaError, "customers"),
    ],
)
def test_bad_arguments(orders, kwargs, error, match):
    with pytest.raises(error, match=match):
        sales_series(orders, **kwargs)


def test_missing_column():
    with pytest.raises(SchemaError, match="order_time"):
        sales_series(pd.DataFrame({"amount": [1.0]}))


def test_prepare_series_moves_dates_to_period_start_and_sorts():
    df = pd.DataFrame(
        {"series_id": [2, 1, 1], "ds": ["2024-02-29", "2024-02-10", "2024-01-31"], "y": [1, 2, 3]}
    )
    out = prepare_series(df, "M")
    assert out.series_id.tolist() == ["1", "1", "2"]
    assert out.ds.tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"),
                               pd.Timestamp("2024-02-01")]  # fmt: skip
    assert out.y.dtype == "float64"


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (
            {"series_id": ["a", "a"], "ds": ["2024-01-01", "2024-01-03"], "y": [1, 2]},
            "missing periods",
        ),
        ({"series_id": ["a", "a"], "ds": ["2024-01-01", "2024-01-01"], "y": [1, 2]}, "duplicate"),
        ({"series_id": ["a"], "ds": ["2024-01-01"], "y": [float("nan")]}, "missing or infinite"),
        ({"series_id": ["a"], "ds": ["2024-01-01"]}, "missing column"),
        ({"series_id": ["a"], "ds": ["not a day"], "y": [1]}, "not dates"),
        ({"series_id": ["a"], "ds": ["2024-01-01"], "y": [1], "promo": ["yes"]}, "numeric"),
        ({"series_id": [], "ds": [], "y": []}, "no rows"),
    ],
)
def test_prepare_series_errors(frame, match):
    with pytest.raises(KehuError, match=match):
        prepare_series(pd.DataFrame(frame), "D")


def test_sales_series_feeds_the_forecaster(orders):
    series = sales_series(orders, by="product_id", freq="D")
    out = Forecaster("seasonal_naive", freq="D").fit(series).predict(2)
    assert sorted(out.series_id.unique()) == ["p", "q", "x"]
    # every series ends on the data's last day, so all forecasts start the day after
    assert set(out.ds) == {pd.Timestamp("2024-02-06"), pd.Timestamp("2024-02-07")}
