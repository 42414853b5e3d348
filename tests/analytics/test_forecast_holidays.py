"""Chinese holiday tables and regressors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kehu.analytics.forecast import daily_holidays, holiday_features, spring_festival
from kehu.analytics.forecast.holidays import (
    DRAGON_BOAT,
    FEATURES_BY_FREQ,
    MID_AUTUMN,
    QINGMING,
    SPRING_FESTIVAL,
)
from kehu.exceptions import ConfigError, KehuError


@pytest.mark.parametrize(
    ("year", "day"),
    [(2000, "2000-02-05"), (2020, "2020-01-25"), (2023, "2023-01-22"), (2024, "2024-02-10"),
     (2025, "2025-01-29"), (2026, "2026-02-17"), (2035, "2035-02-08")],
)  # fmt: skip
def test_spring_festival_known_dates(year, day):
    assert spring_festival(year) == dt.date.fromisoformat(day)


def test_spring_festival_table_is_plausible():
    assert sorted(SPRING_FESTIVAL) == list(range(2000, 2036))
    days = [dt.date.fromisoformat(SPRING_FESTIVAL[y]) for y in range(2000, 2036)]
    for y, d in zip(range(2000, 2036), days, strict=True):
        assert d.year == y
        assert dt.date(y, 1, 21) <= d <= dt.date(y, 2, 20)  # always between these
    gaps = np.diff([d.toordinal() for d in days])
    # a lunar year is 12 or 13 months: 353-355 or 383-385 days
    assert all((353 <= g <= 355) or (383 <= g <= 385) for g in gaps)


def test_other_lunar_tables_are_plausible():
    for table, lo, hi in ((DRAGON_BOAT, (5, 28), (6, 25)), (MID_AUTUMN, (9, 7), (10, 8))):
        assert sorted(table) == list(range(2000, 2036))
        for y, s in table.items():
            d = dt.date.fromisoformat(s)
            assert dt.date(y, *lo) <= d <= dt.date(y, *hi)
    # spot checks of 端午 (5th of the 5th lunar month) and 中秋 (15th of the 8th)
    assert DRAGON_BOAT[2024] == "2024-06-10" and MID_AUTUMN[2024] == "2024-09-17"
    assert MID_AUTUMN[2023] == "2023-09-29" and DRAGON_BOAT[2023] == "2023-06-22"
    assert sorted(QINGMING) == list(range(2008, 2036))
    assert all(s[5:] in ("04-04", "04-05") for s in QINGMING.values())


def test_spring_festival_out_of_table():
    with pytest.raises(ConfigError, match="2000-2035"):
        spring_festival(1999)


def test_daily_windows_around_2025_festival():
    f = daily_holidays("2025-01-14", "2025-02-13")
    row = f.loc
    assert row["2025-01-14"].sum() == 0  # day -15: outside every window
    assert row["2025-01-15", "sf_pre2"] == 1  # day -14
    assert row["2025-01-21", "sf_pre2"] == 1 and row["2025-01-22", "sf_pre1"] == 1
    assert row["2025-01-28", "sf_pre1"] == 1  # 除夕, the eve
    assert row["2025-01-29", "sf_hol"] == 1 and row["2025-02-04", "sf_hol"] == 1
    assert row["2025-02-05", "sf_post"] == 1 and row["2025-02-12", "sf_post"] == 1
    assert row["2025-02-13"].sum() == 0
    # the windows never overlap
    assert f[["sf_pre2", "sf_pre1", "sf_hol", "sf_post"]].sum(axis=1).max() == 1
    assert f["sf_hol"].sum() == 7 and f["sf_post"].sum() == 8


def test_daily_fixed_and_lunar_days():
    f = daily_holidays("2024-01-01", "2024-12-31")
    assert f.loc["2024-01-01", "new_year"] == 1 and f["new_year"].sum() == 1
    assert f.loc["2024-04-04", "qingming"] == 1 and f["qingming"].sum() == 1
    assert f["labour_day"].sum() == 3 and f.loc["2024-05-03", "labour_day"] == 1
    assert f.loc["2024-06-10", "dragon_boat"] == 1 and f["dragon_boat"].sum() == 1
    assert f.loc["2024-09-17", "mid_autumn"] == 1 and f["mid_autumn"].sum() == 1
    assert f["national_day"].sum() == 7 and f.loc["2024-10-07", "national_day"] == 1
    assert list(f.columns) == list(FEATURES_BY_FREQ["D"])


def test_weekly_and_monthly_features_are_shares_of_days():
    w = holiday_features(pd.DatetimeIndex(["2025-01-20", "2025-01-27", "2025-02-03"]), "W")
    # 2025-01-20..26 is days -9..-3: 2 days in pre2 (-9, -8) and 5 in pre1 (-7..-3)
    assert w["sf_pre2"].tolist() == pytest.approx([2 / 7, 0, 0])
    assert w["sf_pre1"].tolist() == pytest.approx([5 / 7, 2 / 7, 0])
    assert w["sf_hol"].tolist() == pytest.approx([0, 5 / 7, 2 / 7])
    m = holiday_features(pd.DatetimeIndex(["2024-01-01", "2024-02-01", "2024-03-01"]), "M")
    # 春节 2024-02-10: build-up 3-9 Feb, holiday 10-16 Feb, all in February
    assert m["sf_pre1"].tolist() == pytest.approx([0, 7 / 29, 0])
    assert m["sf_hol"].tolist() == pytest.approx([0, 7 / 29, 0])
    assert list(m.columns) == ["sf_pre1", "sf_hol"]


def test_features_outside_the_table_raise_a_kehu_error():
    with pytest.raises(KehuError, match="2000-2035"):
        holiday_features(pd.DatetimeIndex(["1999-12-01"]), "M")
    assert holiday_features(pd.DatetimeIndex([]), "D").empty
