"""Association rules: hand-computed values, Apriori pruning, and the published Groceries figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kehu.analytics.recommend import association_rules, frequent_itemsets
from kehu.exceptions import ConfigError, SchemaError

# 5 baskets: {a,b,c} {a,b} {a,c} {b} {a,b,c}
BASKETS = pd.DataFrame(
    {
        "order_id": [1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 5, 5],
        "product_id": ["a", "b", "c", "a", "b", "a", "c", "b", "a", "b", "c", "c"],  # c twice in 5
    }
)


def rule(rules: pd.DataFrame, ante: tuple, cons: str) -> pd.Series:
    hit = rules[(rules.antecedent == ante) & (rules.consequent == cons)]
    assert len(hit) == 1, f"rule {ante} -> {cons} not found"
    return hit.iloc[0]


def test_pair_rules_by_hand():
    r = association_rules(BASKETS, min_support=0.1, min_confidence=0.1)
    assert list(r.columns) == ["antecedent", "consequent", "support", "confidence", "lift", "count"]
    # counts: a 4, b 4, c 3; ab 3, ac 3, bc 2 (basket 5's second c counts once)
    ab = rule(r, ("a",), "b")
    assert (ab["count"], ab.support, ab.confidence) == (3, 0.6, 0.75)
    assert ab.lift == pytest.approx(0.75 / 0.8)
    ca = rule(r, ("c",), "a")
    assert (ca.confidence, ca.lift) == (1.0, pytest.approx(1.0 / 0.8))
    bc = rule(r, ("b",), "c")
    assert bc.confidence == 0.5 and bc.lift == pytest.approx(0.5 / 0.6)
    assert len(r) == 6
    assert r.lift.is_monotonic_decreasing


def test_thresholds_filter_rules():
    r = association_rules(BASKETS, min_support=0.5, min_confidence=0.8)
    # pairs with support >= 0.5: ab, ac (0.6); confidence >= 0.8: c -> a only
    assert [(x.antecedent, x.consequent) for x in r.itertuples()] == [(("c",), "a")]
    lifted = association_rules(BASKETS, 0.1, 0.1, min_lift=1.2)
    assert set(zip(lifted.antecedent, lifted.consequent, strict=True)) == {
        (("c",), "a"),
        (("a",), "c"),
    }


def test_triples_by_hand():
    r = association_rules(BASKETS, min_support=0.4, min_confidence=0.1, max_len=3)
    # abc in baskets 1 and 5 (support 0.4); bc has support 0.4 so abc survives pruning
    abc = rule(r, ("b", "c"), "a")
    assert (abc["count"], abc.support, abc.confidence) == (2, 0.4, 1.0)
    assert abc.lift == pytest.approx(1 / 0.8)
    assert rule(r, ("a", "b"), "c").confidence == pytest.approx(2 / 3)
    sets = frequent_itemsets(BASKETS, 0.4, 3)
    assert sets.attrs["baskets"] == 5
    assert sets.itemset.tolist() == [
        ("a",),
        ("b",),
        ("c",),
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
        ("a", "b", "c"),
    ]
    assert sets["count"].tolist() == [4, 4, 3, 3, 3, 2, 2]


def test_apriori_prunes_triples_with_an_infrequent_pair():
    # bc (support 0.4) is below 0.5, so abc (support 0.4 anyway) is never formed
    sets = frequent_itemsets(BASKETS, 0.5, 3)
    assert (sets["size"] == 3).sum() == 0


def test_returns_dropped_and_custom_columns():
    df = pd.DataFrame(
        {
            "basket": ["x", "x", "y", "y"],
            "item": ["a", "b", "a", "b"],
            "is_return": [False, False, True, True],
        }
    )
    r = association_rules(df, 0.5, 0.5, basket_col="basket", item_col="item")
    assert r["count"].tolist() == [1, 1] and r.support.tolist() == [1.0, 1.0]  # one basket left


def test_empty_and_no_rules():
    empty = BASKETS.iloc[:0]
    assert association_rules(empty, 0.1, 0.1).empty
    assert frequent_itemsets(empty, 0.1).attrs["baskets"] == 0
    none = association_rules(BASKETS, 0.9, 0.1)
    assert none.empty and list(none.columns) == [
        "antecedent",
        "consequent",
        "support",
        "confidence",
        "lift",
        "count",
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_support": 0},
        {"min_support": 1.5},
        {"min_confidence": -0.1},
        {"max_len": 4},
        {"max_len": 1},
    ],
)
def test_bad_parameters(kwargs):
    with pytest.raises(ConfigError):
        association_rules(BASKETS, **{"min_support": 0.1, "min_confidence": 0.1, **kwargs})


def test_missing_column():
    with pytest.raises(SchemaError, match="order_id"):
        association_rules(BASKETS.drop(columns="order_id"), 0.1, 0.1)


# --- Groceries (Hahsler, Hornik & Reutterer 2006), the arules data set ----------------------
@pytest.fixture(scope="module")
def groceries(shared_data):
    return pd.read_parquet(shared_data / "groceries" / "groceries_baskets_long.parquet")


@pytest.mark.realdata
def test_groceries_published_values(groceries):
    assert groceries.basket_id.nunique() == 9835 and groceries.item.nunique() == 169
    sets = frequent_itemsets(groceries, 0.01, 1, basket_col="basket_id", item_col="item")
    support = dict(zip(sets.itemset, sets.support, strict=True))
    assert support[("whole milk",)] == pytest.approx(0.2555, abs=5e-5)
    assert support[("other vegetables",)] == pytest.approx(0.1935, abs=5e-5)

    r = association_rules(groceries, 0.001, 0.01, basket_col="basket_id", item_col="item")
    ov = rule(r, ("other vegetables",), "whole milk")
    assert ov.support == pytest.approx(0.0748, abs=5e-5)
    assert ov.confidence == pytest.approx(0.3868, abs=5e-5)
    assert ov.lift == pytest.approx(1.5136, abs=5e-5)
    assert ov["count"] == 736

    # the arules top rule at supp = 0.001, conf = 0.8:
    # {liquor, red/blush wine} => {bottled beer}  support 0.0019, confidence 0.9048, lift 11.2353
    r3 = association_rules(
        groceries, 0.001, 0.8, max_len=3, basket_col="basket_id", item_col="item"
    )
    assert (
        len(r3) == 29
    )  # the much-quoted arules run apriori(Groceries, supp=0.001, conf=0.8, maxlen=3)
    top = r3.iloc[0]
    assert (top.antecedent, top.consequent) == (("liquor", "red/blush wine"), "bottled beer")
    assert (top.support, top.confidence, top.lift) == (
        pytest.approx(0.0019, abs=5e-5),
        pytest.approx(0.9048, abs=5e-5),
        pytest.approx(11.2353, abs=5e-4),
    )


@pytest.mark.realdata
def test_groceries_pairs_match_a_direct_count(groceries):
    """Every pair rule equals a brute-force count from the basket x item matrix."""
    r = association_rules(groceries, 0.005, 0.0001, basket_col="basket_id", item_col="item")
    m = pd.crosstab(groceries.basket_id, groceries.item).clip(upper=1)
    n = len(m)
    co = m.T @ m
    single = np.diag(co.to_numpy())
    items = list(co.index)
    pos = {it: i for i, it in enumerate(items)}
    a = np.array([pos[x[0]] for x in r.antecedent])
    c = np.array([pos[x] for x in r.consequent])
    count = co.to_numpy()[a, c]
    np.testing.assert_array_equal(r["count"].to_numpy(), count)
    np.testing.assert_allclose(r.confidence, count / single[a])
    np.testing.assert_allclose(r.lift, count / single[a] / (single[c] / n))
    # and no frequent pair is missing (each pair gives two rules)
    upper = np.triu(co.to_numpy(), 1)
    assert len(r) == 2 * int((upper >= np.ceil(0.005 * n)).sum())
