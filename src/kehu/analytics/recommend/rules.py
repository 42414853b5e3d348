"""'Bought together' association rules, counted in the engine (Apriori).

For ``N`` baskets and itemsets ``A`` and ``C``:

- ``support(A -> C) = count(A and C) / N``,
- ``confidence(A -> C) = count(A and C) / count(A)``,
- ``lift(A -> C) = confidence(A -> C) / support(C)``,

as in R's ``arules``.  Each basket counts an item once.  Frequent single items
are counted by a group-by; pairs by a self-join of the basket lines on the
basket (``item1 < item2``, so each pair once) restricted to frequent items;
triples by joining frequent pairs' occurrences with a third, larger item whose
two sub-pairs are also frequent (Apriori pruning).  Only the frequent itemsets
(small) come back to Python, where the rules are formed: every itemset of two
or three items gives one rule per item as the single consequent.
"""

from __future__ import annotations

import math
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from kehu.analytics.schema import require_columns, to_table
from kehu.exceptions import ConfigError

RULE_COLUMNS = ("antecedent", "consequent", "support", "confidence", "lift", "count")
ITEMSET_COLUMNS = ("itemset", "size", "count", "support")


def frequent_itemsets(
    baskets: Any,
    min_support: float,
    max_len: int = 2,
    *,
    basket_col: str = "order_id",
    item_col: str = "product_id",
) -> pd.DataFrame:
    """Itemsets of 1..``max_len`` items in at least ``min_support`` of the baskets.

    Returns
    -------
    pandas.DataFrame with ``itemset`` (sorted tuple of items), ``size``,
    ``count`` (baskets containing it) and ``support``; the number of baskets is
    in ``.attrs["baskets"]``.
    """
    _check(min_support, "min_support")
    if max_len not in (1, 2, 3):
        raise ConfigError(f"association rules: max_len must be 1, 2 or 3, got {max_len!r}")
    b = _basket_lines(baskets, basket_col, item_col)
    n = int(b.basket.nunique().execute())
    if n == 0:
        return _empty_itemsets(0)
    min_count = max(1, math.ceil(min_support * n - 1e-9))

    f1 = b.group_by("item").agg(count=b.basket.count()).filter(lambda t: t["count"] >= min_count)
    parts = [f1.select(i1="item", count="count").to_pandas().assign(size=1)]
    if max_len >= 2:
        lines = b.semi_join(f1, "item")
        left = lines.select(basket="basket", i1="item")
        right = lines.select(basket2="basket", i2="item")
        occ2 = left.join(right, [left.basket == right.basket2, left.i1 < right.i2]).select(
            "basket", "i1", "i2"
        )
        f2 = occ2.group_by("i1", "i2").agg(count=occ2.basket.count())
        f2 = f2.filter(f2["count"] >= min_count)
        parts.append(f2.to_pandas().assign(size=2))
    if max_len >= 3:
        occ = occ2.semi_join(f2, ["i1", "i2"])
        third = lines.select(basket3="basket", i3="item")
        occ3 = occ.join(third, [occ.basket == third.basket3, occ.i2 < third.i3]).select(
            "basket", "i1", "i2", "i3"
        )
        p13 = f2.select(i1="i1", i3="i2")
        p23 = f2.select(i2="i1", i3="i2")
        occ3 = occ3.semi_join(p13, ["i1", "i3"]).semi_join(p23, ["i2", "i3"])
        f3 = occ3.group_by("i1", "i2", "i3").agg(count=occ3.basket.count())
        f3 = f3.filter(f3["count"] >= min_count)
        parts.append(f3.to_pandas().assign(size=3))

    sets = pd.concat(parts, ignore_index=True)
    if sets.empty:
        return _empty_itemsets(n)
    item_cols = [c for c in ("i1", "i2", "i3") if c in sets.columns]
    sets["itemset"] = list(sets[item_cols].itertuples(index=False, name=None))
    sets["itemset"] = sets["itemset"].map(lambda t: tuple(i for i in t if isinstance(i, str)))
    out = sets.assign(count=sets["count"].astype("int64"), support=sets["count"] / n)
    out = out.sort_values(["size", "count", "itemset"], ascending=[True, False, True])
    out = out[list(ITEMSET_COLUMNS)].reset_index(drop=True)
    out.attrs["baskets"] = n
    return out


def association_rules(
    baskets: Any,
    min_support: float = 0.01,
    min_confidence: float = 0.1,
    max_len: int = 2,
    *,
    basket_col: str = "order_id",
    item_col: str = "product_id",
    min_lift: float | None = None,
) -> pd.DataFrame:
    """Rules ``antecedent -> consequent`` with support, confidence and lift.

    Parameters
    ----------
    baskets
        One row per (basket, item) line, Ibis table or pandas/polars/Arrow;
        duplicates are counted once.  Lines flagged ``is_return`` are dropped.
    min_support
        Minimum support of the whole rule (antecedent and consequent), 0..1.
    min_confidence
        Minimum confidence, 0..1.
    max_len
        Largest itemset: 2 (pairs, one-item antecedents) or 3.
    basket_col, item_col
        Basket and item columns (canonical orders: ``order_id``,
        ``product_id``).
    min_lift
        Optional minimum lift.

    Returns
    -------
    pandas.DataFrame with ``antecedent`` (sorted tuple of items),
    ``consequent`` (one item), ``support``, ``confidence``, ``lift`` and
    ``count`` (baskets holding all the rule's items), by lift then confidence,
    highest first.

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"order_id": [1, 1, 2, 2, 3], "product_id": ["a", "b", "a", "b", "a"]})
    >>> r = association_rules(b, 0.5, 0.5)
    >>> print(r[["antecedent", "consequent", "confidence", "lift"]].round(3).to_string(index=False))
    antecedent consequent  confidence  lift
          (b,)          a       1.000   1.0
          (a,)          b       0.667   1.0
    """
    _check(min_confidence, "min_confidence", zero=True)
    if max_len not in (2, 3):
        raise ConfigError(f"association rules: max_len must be 2 or 3, got {max_len!r}")
    sets = frequent_itemsets(
        baskets, min_support, max_len, basket_col=basket_col, item_col=item_col
    )
    rules = _candidate_rules(sets)
    if not rules:
        return _empty_rules()
    r = _measure(pd.concat(rules, ignore_index=True), sets.attrs["baskets"])
    keep = r["confidence"] >= min_confidence - 1e-12
    if min_lift is not None:
        keep &= r["lift"] >= min_lift
    r = r[keep].sort_values(
        ["lift", "confidence", "antecedent", "consequent"], ascending=[False, False, True, True]
    )
    r["count"] = r["count"].astype("int64")
    return r[list(RULE_COLUMNS)].reset_index(drop=True)


def _candidate_rules(sets: pd.DataFrame) -> list[pd.DataFrame]:
    """Per frequent itemset of 2 or 3, one rule per item as consequent, with the counts."""
    count = dict(zip(sets["itemset"], sets["count"], strict=True))
    big = sets[sets["size"] >= 2]
    rules = []
    for size in (2, 3):  # one vectorised pass per consequent position, not per itemset
        part = big[big["size"] == size]
        for pos in range(size):
            ante = part["itemset"].map(lambda s, p=pos: s[:p] + s[p + 1 :])
            cons = part["itemset"].map(lambda s, p=pos: s[p])
            rules.append(
                pd.DataFrame(
                    {
                        "antecedent": ante.to_numpy(),
                        "consequent": cons.to_numpy(),
                        "count": part["count"].to_numpy(),
                        # count.get, not the dict: pandas 2 makes tuple keys a MultiIndex
                        "_ante": ante.map(count.get).to_numpy(dtype=float),
                        "_cons": cons.map(lambda c: count[(c,)]).to_numpy(dtype=float),
                    }
                )
            )
    return [r for r in rules if not r.empty]


def _measure(r: pd.DataFrame, n: int) -> pd.DataFrame:
    """Add support, confidence and lift (as in arules) from the counts over ``n`` baskets."""
    r["support"] = r["count"] / n
    r["confidence"] = r["count"] / r["_ante"]
    r["lift"] = r["confidence"] / (r["_cons"] / n)
    return r


def _basket_lines(baskets: Any, basket_col: str, item_col: str) -> ir.Table:
    t = to_table(baskets, "baskets")
    require_columns(t, (basket_col, item_col), "baskets")
    if "is_return" in t.columns:
        t = t.filter(~t.is_return.fill_null(False))
    t = t.filter(t[basket_col].notnull(), t[item_col].notnull())
    return t.select(basket=t[basket_col], item=t[item_col].cast("string")).distinct()


def _check(value: Any, name: str, *, zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (0 <= value <= 1 if zero else 0 < value <= 1):
        span = "[0, 1]" if zero else "(0, 1]"
        raise ConfigError(f"association rules: {name} must be a number in {span}, got {value!r}")


def _empty_itemsets(n: int) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "itemset": pd.Series(dtype=object),
            "size": pd.Series(dtype="int64"),
            "count": pd.Series(dtype="int64"),
            "support": pd.Series(dtype=float),
        }
    )
    out.attrs["baskets"] = n
    return out


def _empty_rules() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "antecedent": pd.Series(dtype=object),
            "consequent": pd.Series(dtype=object),
            "support": pd.Series(dtype=float),
            "confidence": pd.Series(dtype=float),
            "lift": pd.Series(dtype=float),
            "count": pd.Series(dtype="int64"),
        }
    )
