"""When customers order: the week's rhythm and the Spring Festival, as a daily intensity."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

#: Chinese New Year's day (春节, 正月初一) per year; the festival effect is only
#: simulated for the years listed here.
SPRING_FESTIVAL = {
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}
# day-of-week intensity, Monday first
DOW_RETAIL = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.3, 1.05])
DOW_B2B = np.array([1.2, 1.15, 1.1, 1.1, 1.1, 0.6, 0.3])


def festival(dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Daily Spring Festival multiplier and the mask of the three build-up weeks."""
    factor = np.ones(len(dates))
    build_up = np.zeros(len(dates), dtype=bool)
    day = dates.to_numpy().astype("datetime64[D]")
    for year in range(dates[0].year, dates[-1].year + 2):
        ny = SPRING_FESTIVAL.get(year)
        if ny is None:
            continue
        offset = (day - np.datetime64(ny, "D")).astype(np.int64)
        pre = (offset >= -21) & (offset < 0)
        factor[pre] = 1.35 + 0.6 * (offset[pre] + 21) / 21  # stocking up, rising to the eve
        build_up |= pre
        factor[(offset >= 0) & (offset < 7)] = 0.3  # the holiday week: shops shut
        factor[(offset >= 7) & (offset < 15)] = 0.8  # slow restart until the Lantern Festival
    return factor, build_up


def cumulative_intensity(dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative daily intensity per profile (0 retail, 1 B2B), and the festival build-up mask.

    Order days are drawn by inverting the cumulative intensity, so the week's
    rhythm and the festival shape when customers order, not how much.
    """
    dow = dates.day_of_week.to_numpy()
    factor, build_up = festival(dates)
    inten = np.stack([DOW_RETAIL[dow] * factor, DOW_B2B[dow] * factor])
    cum = np.concatenate([np.zeros((2, 1)), np.cumsum(inten, axis=1)], axis=1)
    return cum, build_up
