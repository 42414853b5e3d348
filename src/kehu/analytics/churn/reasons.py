"""The main reasons behind each customer's churn risk, in words (English and Chinese).

Attribution method: *swap-with-typical differences by feature group*.  The
features are grouped into things a person can act on (recency, rhythm, trend,
the last baskets, value, breadth, tenure, returns, the BG/NBD view;
:data:`REASON_GROUPS`).  The
"typical customer" has every feature at its training median.  The
contribution of group ``g`` to a customer's calibrated risk ``f`` is the mean
of two differences::

    f(customer) - f(customer, with g's features typical)        # taking g away
    f(typical, with g's features the customer's) - f(typical)   # adding g alone

These are the first and the last terms of the Shapley average over orders
of the groups (exactly Shapley for two groups).  Taking away alone fails when
two groups say the same thing: a customer silent for 800 days is still
certain to churn when only the recency is made typical, because the BG/NBD
P(alive) still says so, and both would get no credit; adding alone credits
each.  Grouping keeps correlated features (recency in days and as a multiple
of the usual gap) together.  It costs two predictions per group and customer.
Unlike Shapley values the contributions need not add up to
``f(customer) - f(typical)``.  A group that lowers the risk has a negative
contribution and is never given as a reason.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from kehu.exceptions import ConfigError

#: group -> the features it sets to typical values together
REASON_GROUPS: dict[str, tuple[str, ...]] = {
    "recency": ("recency_days", "recency_ratio", "recency_max_ratio"),
    "rhythm": ("last_gap_days", "last_gap_ratio", "mean_gap_days", "max_gap_days"),
    "frequency": ("orders", "purchase_days", "purchase_rate"),
    "trend": (
        "orders_recent",
        "orders_prior",
        "spend_recent",
        "spend_prior",
        "orders_change",
        "spend_change",
    ),
    "basket": ("last_spend_ratio", "last3_spend_ratio", "last_products_ratio"),
    "value": ("monetary", "avg_order_value", "quantity", "premium_share"),
    "breadth": ("distinct_products", "distinct_categories"),
    "tenure": ("tenure_days",),
    "returns": ("return_share",),
    "bgnbd": ("p_alive", "expected_purchases"),
}

#: smallest contribution (in probability) worth naming as a reason
MIN_CONTRIBUTION = 0.01


def _num(s: pd.Series, digits: int = 0) -> pd.Series:
    """Numbers as short text: ``digits`` decimals, trailing ``.0`` dropped."""
    x = s.astype(float).round(digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    text = x.map(f"{{:.{digits}f}}".format, na_action="ignore").astype(object)
    if digits:
        text = text.str.rstrip("0").str.rstrip(".")
    text = text.where(x.notna(), "?")
    return text.astype(str)


def _where(cond: pd.Series, yes: pd.Series, no: pd.Series) -> pd.Series:
    return yes.where(cond.fillna(False).astype(bool), no)


def _recency(f: pd.DataFrame, ref: dict[str, float], zh: bool) -> pd.Series:
    r, g = _num(f.recency_days), _num(f.mean_gap_days)
    k = _num(f.recency_ratio, 1)
    if zh:
        with_gap = "距上次购买" + r + "天，是平常间隔（" + g + "天）的" + k + "倍"
        one = "距唯一一次购买已" + r + "天"
    else:
        with_gap = r + " days since last purchase, " + k + "x the usual gap of " + g + " days"
        one = r + " days since the only purchase"
    longest = _num(f.max_gap_days)
    if zh:
        with_gap = with_gap + "（以往最长间隔" + longest + "天）"
    else:
        with_gap = with_gap + " (longest before: " + longest + ")"
    return _where(f.recency_ratio.notna(), with_gap, one)


def _rhythm(f: pd.DataFrame, ref: dict[str, float], zh: bool) -> pd.Series:
    last, g = _num(f.last_gap_days), _num(f.mean_gap_days)
    typical = _num(pd.Series(ref.get("mean_gap_days", np.nan), index=f.index))
    if zh:
        several = "最近两次购买相隔" + last + "天，平均间隔" + g + "天"
        two = "仅两个购买日，相隔" + last + "天"
        one = "只有一个购买日（一般客户平均间隔" + typical + "天）"
    else:
        several = "last two purchases " + last + " days apart, usually " + g
        two = "only two purchase days, " + last + " days apart"
        one = "only one purchase day (a typical gap is " + typical + " days)"
    out = _where(f.purchase_days > 2, several, two)
    return _where(f.last_gap_days.notna(), out, one)


def _frequency(f: pd.DataFrame, ref: dict[str, float], zh: bool) -> pd.Series:
    d, t = _num(f.purchase_days), _num(f.tenure_days)
    if zh:
        return "成为客户" + t + "天，共购买" + d + "天"
    return d + " purchase day(s) in " + t + " days as a customer"


def _trend(f: pd.DataFrame, ref: dict[str, float], zh: bool, days: int) -> pd.Series:
    now, before = _num(f.orders_recent), _num(f.orders_prior)
    pct = _num(100.0 * f.spend_change)
    n = str(days)
    if zh:
        text = "近" + n + "天" + now + "单，之前" + n + "天" + before + "单"
        spend = "，消费额变化" + pct + "%"
    else:
        text = now + " order(s) in the last " + n + " days vs " + before
        text = text + " in the " + n + " before"
        spend = ", spend " + pct + "%"
    return text + _where(f.spend_change.notna(), spend, pd.Series("", index=f.index))


def _basket(f: pd.DataFrame, ref: dict[str, float], zh: bool) -> pd.Series:
    last, last3 = _num(100.0 * f.last_spend_ratio), _num(100.0 * f.last3_spend_ratio)
    prods = _num(100.0 * f.last_products_ratio)
    money = _num(f.monetary, 2)
    blank = pd.Series("", index=f.index)
    if zh:
        text = "最近一个购买日消费额为平常的" + last + "%（最近三个购买日" + last3 + "%）"
        text = text + _where(
            f.last_products_ratio.notna(), "，商品种数为平常的" + prods + "%", blank
        )
        one = "只有一个购买日，消费" + money
    else:
        text = "last purchase day spent " + last + "% of the usual (last three: " + last3 + "%)"
        text = text + _where(
            f.last_products_ratio.notna(), ", " + prods + "% of the usual number of products", blank
        )
        one = "a single purchase day, spending " + money
    return _where(f.last_spend_ratio.notna(), text, one)


def _value(f: pd.DataFrame, ref: dict[str, float], zh: bool) -> pd.Series:
    aov = _num(f.avg_order_value, 2)
    typical = _num(pd.Series(ref.get("avg_order_value", np.nan), index=f.index), 2)
    if zh:
        return "客单价" + aov + "（一般客户" + typical + "）"
    return "average order value " + aov + " (typical " + typical + ")"


def _breadth(f: pd.DataFrame, ref: dict[str, float], zh: bool) -> pd.Series:
    use_cat = f.distinct_categories.notna()
    n = _where(use_cat, _num(f.distinct_categories), _num(f.distinct_products))
    key = "distinct_categories" if f.distinct_categories.notna().any() else "distinct_products"
    typical = _num(pd.Series(ref.get(key, np.nan), index=f.index))
    if zh:
        cat, prod = pd.Series("个品类", index=f.index), pd.Series("种商品", index=f.index)
        what = _where(use_cat, cat, prod)
        return "只买过" + n + what + "（一般客户" + typical + "）"
    what = _where(
        use_cat, pd.Series(" categories", index=f.index), pd.Series(" products", index=f.index)
    )
    return "bought " + n + what + " (typical " + typical + ")"


def _tenure(f: pd.DataFrame, ref: dict[str, float], zh: bool) -> pd.Series:
    t = _num(f.tenure_days)
    return ("客龄" + t + "天") if zh else ("a customer for " + t + " days")


def _returns(f: pd.DataFrame, ref: dict[str, float], zh: bool) -> pd.Series:
    pct = _num(100.0 * f.return_share)
    return ("退货占消费额" + pct + "%") if zh else ("returned " + pct + "% of what they bought")


def _bgnbd(f: pd.DataFrame, ref: dict[str, float], zh: bool) -> pd.Series:
    pct = _num(100.0 * f.p_alive)
    if zh:
        return "购买模型（BG/NBD）估计仍活跃的概率为" + pct + "%"
    return "purchase model (BG/NBD) gives " + pct + "% chance still active"


_TEXT: dict[str, Callable[..., pd.Series]] = {
    "recency": _recency,
    "rhythm": _rhythm,
    "frequency": _frequency,
    "basket": _basket,
    "value": _value,
    "breadth": _breadth,
    "tenure": _tenure,
    "returns": _returns,
    "bgnbd": _bgnbd,
}


def reason_texts(
    features: pd.DataFrame, reference: dict[str, float], *, language: str, trend_days: int
) -> pd.DataFrame:
    """One column per reason group: that group's reason for every customer, in words."""
    if language not in ("en", "zh"):
        raise ConfigError(f"language must be 'en' or 'zh', got {language!r}")
    zh = language == "zh"
    f = features.reset_index(drop=True)
    out = {g: fn(f, reference, zh) for g, fn in _TEXT.items()}
    out["trend"] = _trend(f, reference, zh, trend_days)
    return pd.DataFrame({g: out[g] for g in REASON_GROUPS})


def top_reasons(
    contributions: pd.DataFrame,
    texts: pd.DataFrame,
    *,
    max_reasons: int = 3,
    language: str = "en",
) -> pd.Series:
    """The texts of each customer's largest positive contributions, joined, largest first.

    Only contributions of at least :data:`MIN_CONTRIBUTION` are named; a
    customer with none gets an empty string.
    """
    groups = list(contributions.columns)
    c = contributions[groups].to_numpy(dtype=float)
    words = texts[groups].to_numpy(dtype=object)
    order = np.argsort(-c, axis=1, kind="stable")[:, :max_reasons]
    rows = np.arange(len(c))[:, None]
    picked = np.where(c[rows, order] >= MIN_CONTRIBUTION, words[rows, order], "")
    sep = "；" if language == "zh" else "; "
    joined = pd.Series([""] * len(c), dtype=object)
    for k in range(picked.shape[1]):  # a loop over at most max_reasons columns
        part = pd.Series(picked[:, k], dtype=object)
        glue = np.where((joined != "") & (part != ""), sep, "")
        joined = joined + glue + part
    return joined.astype(str)
