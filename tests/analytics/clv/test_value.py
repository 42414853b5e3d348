"""Lifetime value and the holdout comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kehu.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    customer_value,
    holdout_comparison,
    lifetime_value,
)
from kehu.exceptions import SchemaError

SMALL = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c"],
        "frequency": [0, 2, 5],
        "recency": [0.0, 20.0, 30.0],
        "T": [38.0, 38.0, 35.0],
        "monetary_value": [0.0, 30.0, 22.0],
        "frequency_holdout": [1, 0, 4],
        "duration_holdout": [39.0, 39.0, 39.0],
    }
)


def bgnbd() -> BetaGeoModel:
    m = BetaGeoModel()
    m.params_ = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    return m


def test_undiscounted_value_is_purchases_times_spend_times_margin():
    m = bgnbd()
    clv = lifetime_value(m, 20.0, SMALL, horizon=52, step=4, margin=0.5)
    assert clv == pytest.approx(0.5 * 20.0 * m.predict_purchases(52, SMALL))


def test_discounting_by_hand():
    m = bgnbd()
    clv = lifetime_value(m, [10.0, 20.0, 30.0], SMALL, horizon=10, step=4, discount_rate=0.1)
    y = [m.predict_purchases(t, SMALL) for t in (4, 8, 10)]
    expected = y[0] / 1.1 + (y[1] - y[0]) / 1.1**2 + (y[2] - y[1]) / 1.1**2.5
    assert clv == pytest.approx(np.array([10.0, 20.0, 30.0]) * expected)


@pytest.mark.realdata
def test_clv_equals_lifetimes_on_cdnow(cdnow_summary):
    s = cdnow_summary
    bg, gg = BetaGeoModel().fit(s), GammaGammaModel().fit(s)
    # lifetimes GammaGammaFitter.customer_lifetime_value(time=12, discount_rate=0.01, freq="W")
    clv = lifetime_value(bg, gg, s, horizon=12 * 4.345, step=4.345, discount_rate=0.01)
    assert clv.sum() == pytest.approx(71507.9533, rel=1e-6)
    table = customer_value(bg, gg, s, horizon=12 * 4.345, step=4.345, discount_rate=0.01)
    assert list(table.columns) == [
        "customer_id",
        "probability_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
    ]
    first = table.set_index("customer_id").loc["1"]
    assert first.clv == pytest.approx(36.273977, rel=1e-6)


@pytest.mark.realdata
def test_holdout_weeks_40_to_78(cdnow_summary):
    bg = BetaGeoModel().fit(cdnow_summary)
    table = holdout_comparison(bg, cdnow_summary)
    assert table.frequency.tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table.customers.tolist() == [1411, 439, 214, 100, 62, 38, 29, 64]
    assert table.actual.tolist() == [334, 306, 298, 156, 157, 112, 112, 407]
    # 1,882 repeat purchase days in the holdout; the BG/NBD expects 1,653 (12% fewer)
    assert table.actual.sum() == 1882
    assert table.predicted.sum() == pytest.approx(1653.4, abs=0.1)
    assert table.predicted.sum() == pytest.approx(table.actual.sum(), rel=0.15)
    # per group the expectation tracks the actual means
    assert np.corrcoef(table.actual_mean, table.predicted_mean)[0, 1] > 0.99


def test_holdout_table_by_hand():
    m = bgnbd()
    table = holdout_comparison(m, SMALL, max_frequency=2)
    assert table.frequency.tolist() == ["0", "1", "2+"]
    assert table.customers.tolist() == [1, 0, 2]
    assert table.actual.tolist() == [1, 0, 4]
    assert table.actual_mean.tolist() == [1.0, 0.0, 2.0]
    assert table.predicted.sum() == pytest.approx(m.predict_purchases(39, SMALL).sum())


def test_bad_value_input():
    m = bgnbd()
    with pytest.raises(SchemaError, match="horizon"):
        lifetime_value(m, 10.0, SMALL, horizon=0)
    with pytest.raises(SchemaError, match="step"):
        lifetime_value(m, 10.0, SMALL, horizon=5, step=-1)
    with pytest.raises(SchemaError, match="discount_rate"):
        lifetime_value(m, 10.0, SMALL, horizon=5, discount_rate=-0.1)
    with pytest.raises(SchemaError, match="spend"):
        lifetime_value(m, [1.0, 2.0], SMALL, horizon=5)
    with pytest.raises(SchemaError, match="frequency_holdout"):
        holdout_comparison(m, SMALL.drop(columns="frequency_holdout"))
