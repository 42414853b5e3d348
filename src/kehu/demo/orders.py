"""The orders: order lines of all customers, walk-in sales, cancellations, returns, duplicates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from kehu.demo.catalogue import draw_products
from kehu.demo.draws import concat
from kehu.demo.market import CHANNEL_CASES, CHANNEL_LINES, CHANNEL_PRICE, RETAIL
from kehu.demo.seasons import cumulative_intensity

ORDER_HEADERS = ("订单号", "客户编号", "下单时间", "商品编码", "数量", "单价", "金额", "订单状态")
STATUS_DONE, STATUS_CANCELLED, STATUS_RETURNED = "已完成", "已取消", "退货"


def simulate_orders(
    rng: np.random.Generator, cust: dict, products: pd.DataFrame, first_day: dt.date, days: int
) -> pd.DataFrame:
    """Order lines of all customers, plus walk-in sales, cancellations, returns, duplicates."""
    dates = pd.date_range(first_day, periods=days, freq="D")
    cum, build_up = cumulative_intensity(dates)
    o_day, o_cust = _customer_orders(rng, cust, cum, days)
    heads = _with_walk_ins(rng, cust, cum, o_day, o_cust, days)
    heads = _timed_and_numbered(rng, heads, dates)
    line_o, prod = _order_lines(rng, products, heads)
    qty = _cases(rng, products, heads, line_o, prod, dates, build_up)
    lines = _lines_table(rng, products, heads, line_o, prod, qty)
    lines = pd.concat([lines, _returns(rng, lines, heads["time"][-1]), _duplicates(rng, lines)])
    lines = lines.sort_values(["下单时间", "订单号"], kind="stable", ignore_index=True)
    return lines


def _customer_orders(
    rng: np.random.Generator, cust: dict, cum: np.ndarray, days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Day and customer of every customer order, drawn over the customers' active spells."""
    begin, stop, b2, s2 = cust["spells"]
    n = len(cust["channel"])
    profile = np.where(RETAIL[cust["channel"]], 0, 1)
    # orders per active spell: Poisson(rate * integrated intensity); rate is per week
    spell_cust = np.concatenate([np.arange(n), np.arange(n)])
    spell_a = np.concatenate([begin, b2])
    spell_b = np.concatenate([stop, s2])
    p = profile[spell_cust]
    lo, hi = cum[p, spell_a], cum[p, np.maximum(spell_a, spell_b)]
    n_orders = rng.poisson(cust["rate"][spell_cust] / 7.0 * (hi - lo))
    o_spell = np.repeat(np.arange(len(spell_cust)), n_orders)
    o_cust = spell_cust[o_spell]
    u = lo[o_spell] + rng.random(len(o_spell)) * (hi - lo)[o_spell]
    o_prof = profile[o_cust]
    o_day = np.empty(len(o_spell), dtype=np.int64)
    for k in (0, 1):  # one vectorised search per intensity profile
        m = o_prof == k
        o_day[m] = np.searchsorted(cum[k], u[m], side="right") - 1
    return np.clip(o_day, 0, days - 1), o_cust


def _with_walk_ins(
    rng: np.random.Generator,
    cust: dict,
    cum: np.ndarray,
    o_day: np.ndarray,
    o_cust: np.ndarray,
    days: int,
) -> dict[str, np.ndarray]:
    """Order heads (day, customer id, channel, size, premium taste), walk-in sales added."""
    o_cust_str = cust["ids"][o_cust]
    # walk-in sales at the distributor's own counter: no customer id
    n_walk = max(1, len(o_cust) // 150)
    w_day = np.searchsorted(cum[0], rng.random(n_walk) * cum[0, -1], side="right") - 1
    w_day = np.clip(w_day, 0, days - 1)
    return {
        "day": np.concatenate([o_day, w_day]),
        "cust": np.concatenate([o_cust_str, np.full(n_walk, "", dtype=o_cust_str.dtype)]),
        "chan": np.concatenate([cust["channel"][o_cust], np.full(n_walk, 2)]),  # like groceries
        "size": np.concatenate([cust["size"][o_cust], np.full(n_walk, 0.5)]),
        "prem": np.concatenate([cust["premium"][o_cust], rng.random(n_walk) < 0.2]),
    }


def _timed_and_numbered(
    rng: np.random.Generator, heads: dict[str, np.ndarray], dates: pd.DatetimeIndex
) -> dict[str, np.ndarray]:
    """The heads in time order with their time, order id and whether the order was cancelled."""
    n_all = len(heads["day"])
    # time of day: retail outlets order through the day, B2B in office hours
    retail = RETAIL[heads["chan"]]
    secs = np.where(
        retail, rng.integers(8 * 3600, 22 * 3600, n_all), rng.integers(6 * 3600, 18 * 3600, n_all)
    )
    o_time = dates.to_numpy()[heads["day"]] + secs.astype("timedelta64[s]")
    # order ids: DD + date + sequence within the day, in time order
    order = np.argsort(o_time, kind="stable")
    heads = {**{k: v[order] for k, v in heads.items()}, "time": o_time[order]}
    first_of_day = np.searchsorted(heads["day"], heads["day"], side="left")
    seq = np.arange(n_all) - first_of_day + 1
    day_str = dates.strftime("%Y%m%d").to_numpy()[heads["day"]]
    heads["id"] = concat("DD", day_str, np.char.zfill(seq.astype(str), 5))
    # whole orders cancelled: ~0.6% of orders
    heads["cancel"] = rng.random(n_all) < 0.006
    return heads


def _order_lines(
    rng: np.random.Generator, products: pd.DataFrame, heads: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Order index and product of each line: 1 + Poisson(lines - 1) distinct products an order."""
    # product drawn by channel and premium taste
    k = 1 + rng.poisson(CHANNEL_LINES[heads["chan"]] - 1.0)
    line_o = np.repeat(np.arange(len(heads["day"])), k)
    l_chan, l_prem = heads["chan"][line_o], heads["prem"][line_o]
    prod = draw_products(rng, products, l_chan, l_prem)
    # one line per product and order, as an ERP export has it
    keep = ~pd.DataFrame({"o": line_o, "p": prod}).duplicated().to_numpy()
    return line_o[keep], prod[keep]


def _cases(
    rng: np.random.Generator,
    products: pd.DataFrame,
    heads: dict[str, np.ndarray],
    line_o: np.ndarray,
    prod: np.ndarray,
    dates: pd.DatetimeIndex,
    build_up: np.ndarray,
) -> np.ndarray:
    """Cases per line: the channel's and customer's size, more before New Year and in summer."""
    nl = len(line_o)
    cat = products["品类"].to_numpy()[prod]
    boost = np.ones(nl)
    l_day = heads["day"][line_o]
    gifts = np.isin(cat, ["酒类", "零食", "饮料", "乳制品"])
    boost[build_up[l_day] & gifts] = 1.8  # New Year gifts and family feasts
    month = dates.month.to_numpy()[l_day]
    boost[(cat == "饮料") & (month >= 6) & (month <= 8)] *= 1.3  # summer drinks
    mean_cases = CHANNEL_CASES[heads["chan"][line_o]] * heads["size"][line_o] * boost
    # gamma-Poisson cases: overdispersed, at least one
    return 1 + rng.poisson(rng.gamma(2.0, np.maximum(mean_cases - 1, 0.05) / 2.0))


def _lines_table(
    rng: np.random.Generator,
    products: pd.DataFrame,
    heads: dict[str, np.ndarray],
    line_o: np.ndarray,
    prod: np.ndarray,
    qty: np.ndarray,
) -> pd.DataFrame:
    """The order lines with the channel's price, a few promotions, and the order's status."""
    nl = len(line_o)
    list_price = products["单价"].to_numpy()[prod]
    promo = np.where(rng.random(nl) < 0.12, rng.choice([0.9, 0.95], nl), 1.0)
    price = np.round(list_price * CHANNEL_PRICE[heads["chan"][line_o]] * promo, 2)
    amount = np.round(qty * price, 2)
    status = np.where(heads["cancel"][line_o], STATUS_CANCELLED, STATUS_DONE)
    return pd.DataFrame(
        {
            "订单号": heads["id"][line_o],
            "客户编号": heads["cust"][line_o],
            "下单时间": heads["time"][line_o],
            "商品编码": products["商品编码"].to_numpy()[prod],
            "数量": qty.astype(np.int64),
            "单价": price,
            "金额": amount,
            "订单状态": status,
        }
    )


def _returns(rng: np.random.Generator, lines: pd.DataFrame, last: np.datetime64) -> pd.DataFrame:
    """Return lines for ~0.5% of completed customer lines: negative quantity, 1-20 days later."""
    src = lines[(lines["订单状态"] == STATUS_DONE) & (lines["客户编号"] != "")]
    src = src[rng.random(len(src)) < 0.005].copy()
    later = src["下单时间"].to_numpy() + (
        rng.integers(1, 21, len(src)) * 86400 + rng.integers(-3600, 3600, len(src))
    ).astype("timedelta64[s]")
    src = src[later < last]
    later = later[later < last]
    back_qty = -np.minimum(src["数量"].to_numpy(), rng.integers(1, 4, len(src)))
    src["订单号"] = "TH" + src["订单号"].str.slice(2)
    src["下单时间"] = later
    src["数量"] = back_qty
    src["金额"] = np.round(back_qty * src["单价"].to_numpy(), 2)
    src["订单状态"] = STATUS_RETURNED
    return src


def _duplicates(rng: np.random.Generator, lines: pd.DataFrame) -> pd.DataFrame:
    """Exact copies of ~0.2% of lines: the double export every real file has."""
    return lines[rng.random(len(lines)) < 0.002]
