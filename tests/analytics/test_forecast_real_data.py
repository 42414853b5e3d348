"""Forecasts on real data: beat seasonal naive on ABS retail and M5 (../shared/data)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from kehu.analytics.forecast import Forecaster, prepare_series, sales_series

pytestmark = pytest.mark.realdata


def test_aus_retail_monthly_beats_seasonal_naive(shared_data):
    raw = pd.read_parquet(shared_data / "aus_retail" / "aus_retail_turnover_monthly.parquet")
    s = raw.rename(columns={"Series_ID": "series_id", "Month": "ds", "Turnover_AUD_million": "y"})
    # every 8th of the 152 State x Industry series (19), sorted by id: deterministic and
    # fast; bench/bench_forecast.py runs all 152
    ids = sorted(s.series_id.unique())[::8]
    s = s[s.series_id.isin(ids)][["series_id", "ds", "y"]]
    res = Forecaster("auto_ets", freq="M").backtest(s, h=12, n_windows=2, step=12)
    overall = res.iloc[-1]
    print(f"\naus_retail ({len(ids)} series): {overall.to_dict()}")
    assert (res.scope == "series").sum() == len(ids)
    assert overall.windows == 2 * len(ids)
    assert overall.mase < 0.95 * overall.mase_snaive
    assert overall.smape < overall.smape_snaive


def test_m5_daily_with_event_regressors_beats_seasonal_naive(shared_data):
    raw = pd.read_parquet(shared_data / "m5_agg" / "m5_agg_demand_daily.parquet")
    s = raw.rename(columns={"date": "ds", "sales": "y"}).assign(series_id="total")
    events = [c for c in s.columns if c not in ("series_id", "ds", "y")]
    assert len(s) == 1913 and len(events) >= 30
    res = Forecaster("auto_ets", freq="D").backtest(s, h=28, n_windows=3, step=28)
    overall = res.iloc[-1]
    print(f"\nm5_agg with {len(events)} event dummies: {overall.to_dict()}")
    assert overall.windows == 3
    assert overall.mase < 0.8 * overall.mase_snaive
    assert overall.smape < overall.smape_snaive


def test_sales_series_on_online_retail_keeps_every_unit(shared_data):
    con = ibis.duckdb.connect()
    raw = con.read_parquet(shared_data / "online_retail" / "online_retail.parquet")
    orders = raw.select(
        customer_id=raw.CustomerID.cast("string"),
        order_time=raw.InvoiceDate,
        product_id=raw.StockCode,
        quantity=raw.Quantity.cast("float64"),
        amount=raw.Quantity * raw.UnitPrice,
    )
    weekly = sales_series(orders, freq="W", measure="quantity").to_pandas()
    assert weekly.y.sum() == pytest.approx(float(orders.quantity.sum().execute()))
    ds = pd.to_datetime(weekly.ds)
    assert (ds.diff().dropna() == pd.Timedelta(weeks=1)).all()  # no gap: the spine is whole
    by_product = sales_series(orders, by="product_id", freq="M", measure="quantity")
    frame = prepare_series(by_product, "M")  # passes the one-row-per-period check
    assert frame.series_id.nunique() == int(orders.product_id.nunique().execute())
    assert np.isclose(frame.y.sum(), weekly.y.sum())
