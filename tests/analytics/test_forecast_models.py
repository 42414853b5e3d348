"""Forecaster: predictions, intervals, fallbacks, regressors, backtests, errors, persistence."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kehu.analytics.forecast import Forecaster, backtest, daily_holidays, mase, smape
from kehu.analytics.forecast.backtest import mase_scale, origins
from kehu.analytics.recommend import Recommender
from kehu.exceptions import ConfigError, KehuError, ModelFileError, NotFittedError, SchemaError

LEVEL_COLS = ["yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


def monthly(series_id: str, values, start: str = "2021-01-01") -> pd.DataFrame:
    ds = pd.date_range(start, periods=len(values), freq="MS")
    return pd.DataFrame({"series_id": series_id, "ds": ds, "y": np.asarray(values, dtype=float)})


def test_metrics_by_hand():
    assert smape(np.array([100.0, 0.0]), np.array([110.0, 0.0])) == pytest.approx(100 * 10 / 210)
    assert smape(np.array([0.0]), np.array([5.0])) == pytest.approx(200.0)
    train = np.array([1.0, 2, 3, 4, 5, 6])
    assert mase_scale(train, 1) == 1.0
    assert mase_scale(train, 2) == 2.0
    assert mase_scale(train, 6) == 1.0  # not longer than a season: lag 1
    assert mase(np.array([7.0, 8]), np.array([6.0, 6]), train, 1) == pytest.approx(1.5)
    assert mase(np.array([7.0, 8]), np.array([6.0, 6]), train, 2) == pytest.approx(0.75)
    assert np.isnan(mase_scale(np.ones(5), 1))  # a flat history has no scale
    assert origins(10, 2, 3, 2) == [4, 6, 8]
    assert origins(3, 2, 3, 2) == [1]


def test_seasonal_naive_repeats_the_last_season():
    y = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120] * 2
    f = Forecaster("seasonal_naive", freq="M").fit(monthly("a", y)).predict(14)
    assert f.yhat.tolist() == [*y[:12], 10.0, 20.0]
    assert f.ds.iloc[0] == pd.Timestamp("2023-01-01")
    assert f.ds.iloc[-1] == pd.Timestamp("2024-02-01")


@pytest.mark.parametrize("model", ["auto_ets", "auto_arima", "theta", "ensemble"])
def test_models_give_ordered_intervals(model):
    rng = np.random.default_rng(1)
    t = np.arange(48)
    y = 100 + 2 * t + 15 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 3, 48)
    fc = Forecaster(model, freq="M").fit(monthly("a", y))
    f = fc.predict(6)
    assert list(f.columns) == ["series_id", "ds", "yhat", *LEVEL_COLS]
    assert len(f) == 6 and (f.series_id == "a").all()
    assert (f.yhat_lo_95 <= f.yhat_lo_80 + 1e-9).all() and (f.yhat_lo_80 <= f.yhat + 1e-9).all()
    assert (f.yhat <= f.yhat_hi_80 + 1e-9).all() and (f.yhat_hi_80 <= f.yhat_hi_95 + 1e-9).all()
    assert (f.yhat_hi_95 > f.yhat_lo_95).all()
    # the trend goes on: the next year is above the last one, on average
    assert f.yhat.mean() > y[-12:].mean()
    assert fc.notes_.loc[0, "model"] == model and fc.notes_.loc[0, "note"] == ""


def test_short_and_flat_series_fall_back_with_a_note():
    data = pd.concat(
        [
            monthly("two", [5, 7]),
            monthly("flat", [0, 0, 0, 0, 0]),
            monthly("year", 10 + np.arange(15) % 4),
            monthly("long", 50 + 10 * np.sin(np.arange(40))),
        ]
    )
    fc = Forecaster("auto_ets", freq="M").fit(data)
    notes = fc.notes_.set_index("series_id")
    assert (
        notes.loc["two", "model"] == "naive" and "2 observation(s) < 4" in notes.loc["two", "note"]
    )
    assert notes.loc["flat", "model"] == "naive" and "constant" in notes.loc["flat", "note"]
    assert notes.loc["year", "season_length"] == 1 and "two seasons" in notes.loc["year", "note"]
    assert notes.loc["long", "season_length"] == 12
    f = fc.predict(3).set_index("series_id")
    assert f.loc["two", "yhat"].tolist() == [7.0, 7.0, 7.0]
    assert f.loc["flat", [*LEVEL_COLS, "yhat"]].to_numpy().max() == 0.0
    assert np.isfinite(f["yhat"]).all()


def test_forecasts_of_non_negative_series_are_clipped_at_zero():
    y = [40, 30, 20, 10, 5, 2, 1, 0, 0, 0, 1, 0] * 2
    f = Forecaster("theta", freq="M").fit(monthly("a", y)).predict(12)
    assert (f[["yhat", *LEVEL_COLS]].to_numpy() >= 0).all()


def test_promotion_regressor_is_used_and_required_in_the_future():
    rng = np.random.default_rng(3)
    n = 200
    promo = (rng.random(n + 14) < 0.2).astype(float)
    ds = pd.date_range("2024-01-01", periods=n + 14, freq="D")
    y = 100 + 60 * promo + rng.normal(0, 2, n + 14)
    hist = pd.DataFrame({"series_id": "s", "ds": ds[:n], "y": y[:n], "promo": promo[:n]})
    fc = Forecaster("theta", freq="D").fit(hist)
    assert fc.regressors_ == ["promo"]
    future = pd.DataFrame({"series_id": "s", "ds": ds[n:], "promo": promo[n:]})
    f = fc.predict(14, X_future=future)
    on, off = f.yhat[promo[n:] == 1], f.yhat[promo[n:] == 0]
    assert on.mean() - off.mean() == pytest.approx(60, abs=6)
    with pytest.raises(SchemaError, match="X_future"):
        fc.predict(14)
    with pytest.raises(SchemaError, match="no values for series 's'"):
        fc.predict(14, X_future=future.iloc[:10])


def test_spring_festival_regressor_improves_mase_on_simulated_sales():
    # daily sales with a weekly pattern, a 50% build-up in the week before
    # Spring Festival, 25% the week before that, and a 60% dip in the holiday week
    ds = pd.date_range("2022-06-01", "2025-03-10", freq="D")
    hol = daily_holidays(ds[0], ds[-1])
    rng = np.random.default_rng(7)
    week = np.array([0.9, 0.95, 1.0, 1.0, 1.1, 1.3, 1.25])[ds.day_of_week]
    effect = 1 + 0.5 * hol.sf_pre1 + 0.25 * hol.sf_pre2 - 0.6 * hol.sf_hol
    y = 200 * week * effect.to_numpy() + rng.normal(0, 8, len(ds))
    s = pd.DataFrame({"series_id": "sim", "ds": ds, "y": y})
    # three 4-week windows from 2025-01-14: they cover 春节 2025-01-29
    plain = backtest(s, h=28, n_windows=3, step=14, model="theta", freq="D")
    cn = backtest(s, h=28, n_windows=3, step=14, model="theta", freq="D", holidays="cn")
    plain_mase, cn_mase = plain.iloc[-1]["mase"], cn.iloc[-1]["mase"]
    assert cn_mase < 0.5 * plain_mase
    assert cn_mase < cn.iloc[-1]["mase_snaive"]


def test_backtest_rows_and_seasonal_naive_identity():
    data = pd.concat(
        [monthly("a", 10 + np.arange(40) % 12 + np.arange(40)), monthly("b", [3, 4, 5])]
    )
    res = Forecaster("seasonal_naive", freq="M").backtest(data, h=6, n_windows=2, step=3)
    assert res.scope.tolist() == ["series", "series", "overall"]
    a = res[res.series_id == "a"].iloc[0]
    assert a.windows == 2 and a.mase == pytest.approx(a.mase_snaive)
    # the trend adds 12 a year to every value: seasonal naive is off by exactly 12,
    # which is also its in-sample error, so MASE = 1
    assert a.mase == pytest.approx(1.0) and a.smape == pytest.approx(a.smape_snaive)
    b = res[res.series_id == "b"].iloc[0]
    assert b.windows == 0 and np.isnan(b.mase) and "too short" in b.note
    overall = res.iloc[-1]
    assert overall.windows == 2 and overall.mase == pytest.approx(1.0)
    assert overall.relative_mase == pytest.approx(1.0)
    assert "1 series without a MASE" in overall.note


def test_parallel_fit_matches_serial():
    data = pd.concat([monthly(f"s{i:03d}", 10 + (np.arange(30) * (i + 1)) % 7) for i in range(70)])
    one = Forecaster("seasonal_naive", freq="M", n_jobs=1).fit(data).predict(4)
    two = Forecaster("seasonal_naive", freq="M", n_jobs=2).fit(data).predict(4)
    pd.testing.assert_frame_equal(one, two)


def test_save_and_load_round_trip(tmp_path):
    fc = Forecaster("theta", freq="M", level=(90,)).fit(monthly("a", 10 + np.arange(30) % 12))
    path = fc.save(tmp_path / "model.pkl")
    again = Forecaster.load(path)
    pd.testing.assert_frame_equal(fc.predict(5), again.predict(5))
    assert list(again.predict(1).columns) == ["series_id", "ds", "yhat", "yhat_lo_90", "yhat_hi_90"]
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ConfigError, match="not a saved kehu forecaster"):
        Forecaster.load(tmp_path / "junk.pkl")
    with pytest.raises(ConfigError, match="does not exist"):
        Forecaster.load(tmp_path / "missing.pkl")


@pytest.mark.parametrize("model", ["auto_ets", "auto_arima", "ensemble"])
def test_round_trip_with_regressors_and_holidays(tmp_path, model):
    a = monthly("a", 10 + np.arange(30) % 12 + np.arange(30) % 5)
    b = monthly("b", 5 + np.arange(3))  # short: the naive fallback
    data = pd.concat([a, b]).assign(promo=lambda d: (np.arange(len(d)) % 4 == 0).astype(float))
    fc = Forecaster(model, freq="M", holidays="cn").fit(data)
    path = fc.save(tmp_path / "model.zip")
    again = Forecaster.load(path)
    future = pd.DataFrame(
        {
            "series_id": ["a"] * 3 + ["b"] * 3,
            "ds": list(pd.date_range("2023-07-01", periods=3, freq="MS"))
            + list(pd.date_range("2021-04-01", periods=3, freq="MS")),
            "promo": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(fc.predict(3, future), again.predict(3, future))
    pd.testing.assert_frame_equal(fc.notes_, again.notes_)
    assert again.get_params() == fc.get_params()


def test_old_pickles_and_other_models_are_refused(tmp_path):
    ran = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (Path.touch, (ran,))

    old = tmp_path / "old.pkl"
    old.write_bytes(pickle.dumps({"format": "kehu.forecaster/1", "forecaster": Boom()}))
    with pytest.raises(ModelFileError, match="pickle"):
        Forecaster.load(old)
    assert not ran.exists()
    rec = Recommender(k=1).fit(
        pd.DataFrame(
            {
                "order_id": ["o1", "o2"],
                "customer_id": ["c1", "c2"],
                "product_id": ["p", "q"],
                "order_time": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                "quantity": [1.0, 1.0],
                "amount": [1.0, 1.0],
            }
        )
    )
    with pytest.raises(ModelFileError, match="holds a Recommender, not a Forecaster"):
        Forecaster.load(rec.save(tmp_path / "rec.zip"))


def test_a_failed_save_leaves_the_earlier_file(tmp_path, monkeypatch):
    fc = Forecaster("theta", freq="M").fit(monthly("a", 10 + np.arange(30) % 12))
    path = fc.save(tmp_path / "model.zip")
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", disk_full)
    with pytest.raises(OSError, match="disk full"):
        fc.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.zip"]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"freq": "Q"}, "unknown frequency"),
        ({"model": "prophet"}, "unknown model"),
        ({"season_length": 0}, "season_length"),
        ({"level": (80, 100)}, "level"),
        ({"holidays": "us"}, "holidays"),
        ({"n_jobs": 0}, "n_jobs"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ConfigError, match=match):
        Forecaster(**{"freq": "M", **params}).fit(monthly("a", range(30)))


@pytest.mark.parametrize("h", [0, -3, 2.5, True])
def test_bad_horizon(h):
    fc = Forecaster("seasonal_naive", freq="M").fit(monthly("a", range(30)))
    with pytest.raises(KehuError, match="horizon"):
        fc.predict(h)
    with pytest.raises(KehuError, match="horizon"):
        fc.backtest(monthly("a", range(30)), h=h)


def test_predict_before_fit():
    with pytest.raises(NotFittedError, match="fit"):
        Forecaster().predict(3)


def test_missing_statsforecast_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "statsforecast.models", None)  # import now fails
    with pytest.raises(ConfigError, match="pip install statsforecast"):
        Forecaster(freq="M").fit(monthly("a", range(30)))
