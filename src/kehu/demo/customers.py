"""The customers: master data, and the hidden behaviour their orders are simulated from."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from kehu.demo.draws import blank_some, choice_rows
from kehu.demo.geography import geography
from kehu.demo.market import AREA_TYPES, CHANNEL_RATE, CHANNEL_SHARE, CHANNELS
from kehu.demo.naming import distributors, phones, reps, shop_names

CUSTOMER_HEADERS = (
    "客户编号",
    "客户名称",
    "联系电话",
    "省份",
    "城市",
    "区县",
    "城乡类型",
    "渠道",
    "性别",
    "年龄段",
    "业务员",
    "经销商",
    "注册日期",
)
AGE_BANDS = ("18-25", "26-35", "36-45", "46-55", "56岁以上")


def simulate_customers(rng: np.random.Generator, n: int, first_day: dt.date, days: int) -> dict:
    """Master data plus the hidden behaviour of each customer (rates, spells)."""
    geo = geography()
    city_codes, city_idx, d = _places(rng, geo, n)
    area, chan = _area_and_channel(rng, geo.kind.to_numpy()[d])
    rate, size, premium = _behaviour(rng, chan, area)
    signup, spells = _lifecycle(rng, size, days)
    ids = np.char.zfill(np.arange(1, n + 1).astype(str), 6)  # 000001: leading zeros
    places = (geo, d, city_codes, city_idx)
    signed_up = pd.to_datetime(first_day) + pd.to_timedelta(signup, unit="D")
    table = _master_table(rng, ids, places, area, chan, signed_up)
    return {
        "table": table,
        "ids": ids,
        "channel": chan,
        "rate": rate,
        "size": size,
        "premium": premium,
        # active spells [start, stop) in day offsets; the second one is the win-back
        "spells": spells,
    }


def _places(
    rng: np.random.Generator, geo: pd.DataFrame, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each customer's district (``d``), big cities weighted up; the cities and their index."""
    city_codes, city_idx = np.unique(geo.city.to_numpy(), return_inverse=True)
    city_weight = rng.uniform(0.5, 2.0, len(city_codes))
    w = city_weight[city_idx] / np.bincount(city_idx)[city_idx]
    d = rng.choice(len(geo), size=n, p=w / w.sum())
    return city_codes, city_idx, d


def _area_and_channel(rng: np.random.Generator, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """City/suburb/rural type from the district kind, then a channel that depends on it."""
    area_p = np.array([[0.85, 0.13, 0.02], [0.25, 0.55, 0.20], [0.05, 0.25, 0.70]])
    area = choice_rows(rng, area_p[kind])
    # channel mix shifts to groceries and wholesalers in the countryside
    chan_p = CHANNEL_SHARE * np.array(
        [
            [1.2, 1.4, 0.6, 0.8, 1.1, 1.5],
            [1.0, 0.9, 1.1, 1.1, 1.0, 0.8],
            [0.6, 0.4, 1.6, 1.4, 0.8, 0.3],
        ]
    )
    chan = choice_rows(rng, chan_p[area] / chan_p[area].sum(axis=1, keepdims=True))
    return area, chan


def _behaviour(
    rng: np.random.Generator, chan: np.ndarray, area: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heterogeneous order rates and sizes, a few very large wholesalers, the premium taste."""
    n = len(chan)
    rate = CHANNEL_RATE[chan] * rng.gamma(1.3, 1 / 1.3, n)
    size = rng.lognormal(0.0, 0.4, n)
    wholesale = np.flatnonzero(chan == 3)
    big = rng.choice(wholesale, size=min(len(wholesale), max(1, n // 300)), replace=False)
    rate[big] *= 2.5
    size[big] *= 3.0
    premium = rng.random(n) < np.array([0.45, 0.25, 0.10])[area]
    return rate, size, premium


def _lifecycle(rng: np.random.Generator, size: np.ndarray, days: int) -> tuple[np.ndarray, tuple]:
    """Sign-up day and the active spells: joining, stopping (churn) and a few win-backs."""
    n = len(size)
    # lifecycle: 70% existed before the period, the rest join during it
    existing = rng.random(n) < 0.7
    signup = np.where(
        existing,
        -rng.integers(30, 8 * 365, n),  # days before first_day
        rng.integers(0, max(1, days - 30), n),
    )
    begin = np.maximum(signup, 0)
    # churn: constant hazard (mean lifetime ~4 years), lower for the large accounts
    life = rng.exponential(np.where(size > 2, 3000.0, 1400.0), n)
    stop = np.minimum(begin + life, days).astype(np.int64)
    churned = stop < days
    # a few of those who stopped are won back after a pause
    back = churned & (rng.random(n) < 0.15)
    back_start = stop + rng.integers(60, 240, n)
    back = back & (back_start < days - 14)
    back_stop = np.where(back, days, 0)
    back_start = np.where(back, back_start, 0)
    return signup, (begin, stop, back_start, back_stop)


def _master_table(
    rng: np.random.Generator,
    ids: np.ndarray,
    places: tuple,
    area: np.ndarray,
    chan: np.ndarray,
    signup: pd.DatetimeIndex,
) -> pd.DataFrame:
    """The customers file as an analyst's export has it, with Chinese headers and gaps."""
    geo, d, city_codes, city_idx = places
    n = len(ids)
    table = pd.DataFrame(
        {
            "客户编号": ids,
            "客户名称": shop_names(rng, geo.city.to_numpy()[d], chan),
            "联系电话": phones(rng, n),
            "省份": geo.province.to_numpy()[d],
            "城市": geo.city.to_numpy()[d],
            "区县": geo.district.to_numpy()[d],
            "城乡类型": np.array(AREA_TYPES)[area],
            "渠道": np.array(CHANNELS)[chan],
            "性别": blank_some(rng, np.where(rng.random(n) < 0.58, "男", "女"), 0.12),
            "年龄段": blank_some(
                rng,
                np.array(AGE_BANDS)[choice_rows(rng, np.tile([0.08, 0.3, 0.32, 0.2, 0.1], (n, 1)))],
                0.2,
            ),
            "业务员": reps(rng, city_idx[d], len(city_codes)),
            "经销商": distributors(rng, city_codes, city_idx[d]),
            "注册日期": signup,
        }
    )
    table["注册日期"] = table["注册日期"].dt.strftime("%Y-%m-%d")
    return table
