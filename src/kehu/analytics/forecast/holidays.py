"""Chinese holidays (中国节假日) as regressors for sales forecasts.

Spring Festival (春节, the first day of the lunar year) moves between 21 January
and 20 February, so a model that only knows "January" or "week 5" cannot learn
the build-up before it or the dip during it.  This module holds small explicit
tables of the lunar holidays and turns them into daily 0/1 indicators, averaged
over the days of each week or month for weekly and monthly series.

The lunar dates were computed with the ``lunardate`` package and checked against
the ``holidays`` package (its ``China`` calendar), which agree on every year; the
table is the source of truth here, so neither is a dependency.  清明 (a solar
term, 4 or 5 April) is a public holiday from 2008 and is listed from then.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from kehu.exceptions import ConfigError

#: First day of the Chinese lunar year (农历新年 / 春节), 2000-2035.
SPRING_FESTIVAL: dict[int, str] = {
    2000: "2000-02-05", 2001: "2001-01-24", 2002: "2002-02-12", 2003: "2003-02-01",
    2004: "2004-01-22", 2005: "2005-02-09", 2006: "2006-01-29", 2007: "2007-02-18",
    2008: "2008-02-07", 2009: "2009-01-26", 2010: "2010-02-14", 2011: "2011-02-03",
    2012: "2012-01-23", 2013: "2013-02-10", 2014: "2014-01-31", 2015: "2015-02-19",
    2016: "2016-02-08", 2017: "2017-01-28", 2018: "2018-02-16", 2019: "2019-02-05",
    2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01", 2023: "2023-01-22",
    2024: "2024-02-10", 2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06",
    2028: "2028-01-26", 2029: "2029-02-13", 2030: "2030-02-03", 2031: "2031-01-23",
    2032: "2032-02-11", 2033: "2033-01-31", 2034: "2034-02-19", 2035: "2035-02-08",
}  # fmt: skip

#: Dragon Boat Festival (端午节, 5th day of the 5th lunar month), 2000-2035.
DRAGON_BOAT: dict[int, str] = {
    2000: "2000-06-06", 2001: "2001-06-25", 2002: "2002-06-15", 2003: "2003-06-04",
    2004: "2004-06-22", 2005: "2005-06-11", 2006: "2006-05-31", 2007: "2007-06-19",
    2008: "2008-06-08", 2009: "2009-05-28", 2010: "2010-06-16", 2011: "2011-06-06",
    2012: "2012-06-23", 2013: "2013-06-12", 2014: "2014-06-02", 2015: "2015-06-20",
    2016: "2016-06-09", 2017: "2017-05-30", 2018: "2018-06-18", 2019: "2019-06-07",
    2020: "2020-06-25", 2021: "2021-06-14", 2022: "2022-06-03", 2023: "2023-06-22",
    2024: "2024-06-10", 2025: "2025-05-31", 2026: "2026-06-19", 2027: "2027-06-09",
    2028: "2028-05-28", 2029: "2029-06-16", 2030: "2030-06-05", 2031: "2031-06-24",
    2032: "2032-06-12", 2033: "2033-06-01", 2034: "2034-06-20", 2035: "2035-06-10",
}  # fmt: skip

#: Mid-Autumn Festival (中秋节, 15th day of the 8th lunar month), 2000-2035.
MID_AUTUMN: dict[int, str] = {
    2000: "2000-09-12", 2001: "2001-10-01", 2002: "2002-09-21", 2003: "2003-09-11",
    2004: "2004-09-28", 2005: "2005-09-18", 2006: "2006-10-06", 2007: "2007-09-25",
    2008: "2008-09-14", 2009: "2009-10-03", 2010: "2010-09-22", 2011: "2011-09-12",
    2012: "2012-09-30", 2013: "2013-09-19", 2014: "2014-09-08", 2015: "2015-09-27",
    2016: "2016-09-15", 2017: "2017-10-04", 2018: "2018-09-24", 2019: "2019-09-13",
    2020: "2020-10-01", 2021: "2021-09-21", 2022: "2022-09-10", 2023: "2023-09-29",
    2024: "2024-09-17", 2025: "2025-10-06", 2026: "2026-09-25", 2027: "2027-09-15",
    2028: "2028-10-03", 2029: "2029-09-22", 2030: "2030-09-12", 2031: "2031-10-01",
    2032: "2032-09-19", 2033: "2033-09-08", 2034: "2034-09-27", 2035: "2035-09-16",
}  # fmt: skip

#: Tomb-Sweeping Day (清明节, a solar term), a public holiday since 2008.
QINGMING: dict[int, str] = {
    2008: "2008-04-04", 2009: "2009-04-04", 2010: "2010-04-05", 2011: "2011-04-05",
    2012: "2012-04-04", 2013: "2013-04-04", 2014: "2014-04-05", 2015: "2015-04-05",
    2016: "2016-04-04", 2017: "2017-04-04", 2018: "2018-04-05", 2019: "2019-04-05",
    2020: "2020-04-04", 2021: "2021-04-04", 2022: "2022-04-05", 2023: "2023-04-05",
    2024: "2024-04-04", 2025: "2025-04-04", 2026: "2026-04-05", 2027: "2027-04-05",
    2028: "2028-04-04", 2029: "2029-04-04", 2030: "2030-04-05", 2031: "2031-04-05",
    2032: "2032-04-04", 2033: "2033-04-04", 2034: "2034-04-05", 2035: "2035-04-05",
}  # fmt: skip

FIRST_YEAR, LAST_YEAR = min(SPRING_FESTIVAL), max(SPRING_FESTIVAL)

#: Spring Festival windows in days relative to the festival (day 0), inclusive.
#: The last two weeks before it are the build-up (年货 shopping), the week from
#: day 0 is the statutory holiday when shops and factories close, and the week
#: after is the slow return to normal (up to 元宵, day 14).
SF_WINDOWS: dict[str, tuple[int, int]] = {
    "sf_pre2": (-14, -8),
    "sf_pre1": (-7, -1),
    "sf_hol": (0, 6),
    "sf_post": (7, 14),
}

#: Holiday columns used for each frequency: fewer for coarser data, where each
#: column costs a coefficient estimated from a handful of periods.
FEATURES_BY_FREQ: dict[str, tuple[str, ...]] = {
    "D": (
        *SF_WINDOWS,
        "new_year",
        "qingming",
        "labour_day",
        "dragon_boat",
        "mid_autumn",
        "national_day",
    ),
    "W": (*SF_WINDOWS, "labour_day", "national_day"),
    "M": ("sf_pre1", "sf_hol"),
}


def spring_festival(year: int) -> dt.date:
    """Date of Spring Festival (春节) in ``year``; :class:`ConfigError` outside the table."""
    try:
        return dt.date.fromisoformat(SPRING_FESTIVAL[year])
    except KeyError:
        raise ConfigError(
            f"Spring Festival dates are known for {FIRST_YEAR}-{LAST_YEAR}, not {year}"
        ) from None


def _dates(table: dict[int, str]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(sorted(table.values()))


def daily_holidays(start: dt.date | str, end: dt.date | str) -> pd.DataFrame:
    """0/1 holiday indicators for every day from ``start`` to ``end`` (inclusive).

    Columns: ``sf_pre2``, ``sf_pre1``, ``sf_hol``, ``sf_post`` (Spring Festival
    windows, see :data:`SF_WINDOWS`), ``new_year`` (元旦, 1 Jan), ``qingming``
    (清明), ``labour_day`` (劳动节, 1-3 May), ``dragon_boat`` (端午),
    ``mid_autumn`` (中秋), ``national_day`` (国庆, 1-7 Oct); indexed by day.

    Raises
    ------
    ConfigError
        When the days (plus the two weeks around each festival) leave the
        years of the tables (2000-2035): there the lunar dates are unknown.
    """
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
    if len(days) == 0:
        return pd.DataFrame(index=days, columns=list(FEATURES_BY_FREQ["D"]), dtype="float64")
    if days[0].year < FIRST_YEAR or days[-1].year > LAST_YEAR:
        raise ConfigError(
            f"Chinese holidays are tabled for {FIRST_YEAR}-{LAST_YEAR}; the dates run "
            f"from {days[0].date()} to {days[-1].date()}"
        )
    out = pd.DataFrame(index=days)
    # days from each day to the nearest Spring Festival (either side)
    sf = _dates(SPRING_FESTIVAL).values
    pos = np.searchsorted(sf, days.values)
    nxt = sf[np.minimum(pos, len(sf) - 1)]
    prv = sf[np.maximum(pos - 1, 0)]
    to_next = (days.values - nxt) // np.timedelta64(1, "D")
    from_prev = (days.values - prv) // np.timedelta64(1, "D")
    rel = np.where(np.abs(to_next) <= np.abs(from_prev), to_next, from_prev)
    for name, (lo, hi) in SF_WINDOWS.items():
        out[name] = ((rel >= lo) & (rel <= hi)).astype("float64")
    month, day = days.month, days.day
    out["new_year"] = ((month == 1) & (day == 1)).astype("float64")
    out["qingming"] = days.isin(_dates(QINGMING)).astype("float64")
    out["labour_day"] = ((month == 5) & (day <= 3)).astype("float64")
    out["dragon_boat"] = days.isin(_dates(DRAGON_BOAT)).astype("float64")
    out["mid_autumn"] = days.isin(_dates(MID_AUTUMN)).astype("float64")
    out["national_day"] = ((month == 10) & (day <= 7)).astype("float64")
    return out


def holiday_features(periods: pd.DatetimeIndex, freq: str) -> pd.DataFrame:
    """Holiday regressors for the periods starting at ``periods`` (daily, weekly or monthly).

    Each column is the share of the period's days inside the holiday or window
    (0/1 for daily data), for the columns of :data:`FEATURES_BY_FREQ` ``[freq]``.
    Weeks start on Monday and months on the 1st, as :func:`sales_series` makes them.

    Examples
    --------
    >>> f = holiday_features(pd.DatetimeIndex(["2025-01-27", "2025-02-03"]), "W")
    >>> f["sf_hol"].round(3).tolist()   # 春节 2025-01-29: days 0..6 = 29 Jan..4 Feb
    [0.714, 0.286]
    """
    periods = pd.DatetimeIndex(periods)
    cols = list(FEATURES_BY_FREQ[freq])
    if len(periods) == 0:
        return pd.DataFrame(index=periods, columns=cols, dtype="float64")
    step = {"D": pd.DateOffset(days=1), "W": pd.DateOffset(weeks=1), "M": pd.DateOffset(months=1)}[
        freq
    ]
    first, last = periods.min(), periods.max() + step - pd.Timedelta(days=1)
    daily = daily_holidays(first, last)[cols]
    if freq == "D":
        return daily.reindex(periods).set_axis(periods)
    start = daily.index.to_period("W-SUN" if freq == "W" else "M").start_time
    means = daily.groupby(start).mean()
    return means.reindex(periods).set_axis(periods)
