"""The CDNOW sample summary (Fader, Hardie & Lee 2005), shared by the CLV tests."""

from __future__ import annotations

import pandas as pd
import pytest

from kehu.analytics.clv import clv_summary


@pytest.fixture(scope="session")
def cdnow_summary(shared_data) -> pd.DataFrame:
    """Calibration to 1997-09-30 (39 weeks), holdout to 1998-06-30, weeks as the unit."""
    raw = pd.read_parquet(shared_data / "cdnow" / "cdnow_sample.parquet")
    orders = pd.DataFrame(
        {
            "customer_id": raw.customer_id.astype(str),
            "order_time": pd.to_datetime(raw.date),
            "amount": raw.dollar_value,
        }
    )
    summary = clv_summary(orders, calibration_end="1997-09-30", observation_end="1998-06-30")
    return summary.to_pandas()
