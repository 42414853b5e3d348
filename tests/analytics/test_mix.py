"""Category mix: per-customer spend shares of the top categories."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from kehu.analytics.mix import MIX_OTHER, category_mix, mix_column_names
from kehu.exceptions import ConfigError, SchemaError


@pytest.fixture
def orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "c", "d", "e"],
            "product_id": ["p1", "p2", "p3", "p2", "p4", "p1", "p9", "p1", "p1"],
            "order_time": pd.to_datetime(
                ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06",
                 "2024-01-07", "2024-01-08", "2024-01-09", "2023-01-01"]
            ),
            "amount": [60.0, 30.0, 10.0, 20.0, 20.0, 50.0, 50.0, -5.0, 99.0],
        }
    )  # fmt: skip


@pytest.fixture
def products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": ["p1", "p2", "p3", "p4"],
            "category": ["饮料", "Snacks & Nuts", "日化", "日化"],
        }
    )


def as_dict(table: ibis.Table) -> dict[str, dict[str, float]]:
    rows = table.to_pyarrow().to_pylist()
    return {r.pop("customer_id"): r for r in rows}


def test_shares_by_hand(orders, products):
    # revenue in the window (from 2024-01-01): 饮料 60+50=110, Snacks 30+20=50, 日化 10+20=30,
    # unknown p9 50; d has only a return (no purchase), e is before the window
    mix, cols = category_mix(orders, products, top_n=2, as_of="2024-02-01", window_days=31)
    assert cols == {"mix_饮料": "饮料", "mix_snacks_nuts": "Snacks & Nuts"}
    assert mix.columns == ("customer_id", "mix_饮料", "mix_snacks_nuts", MIX_OTHER)
    assert as_dict(mix) == {
        "a": {"mix_饮料": 0.6, "mix_snacks_nuts": 0.3, MIX_OTHER: 0.1},
        "b": {"mix_饮料": 0.0, "mix_snacks_nuts": 0.5, MIX_OTHER: 0.5},
        "c": {"mix_饮料": 0.5, "mix_snacks_nuts": 0.0, MIX_OTHER: 0.5},
    }


def test_all_history_and_top_n_larger_than_categories(orders, products):
    mix, cols = category_mix(orders, products, top_n=10)
    # 饮料 now has e's 99 too; unknown product p9 never gets a column of its own
    assert list(cols.values()) == ["饮料", "Snacks & Nuts", "日化"]
    got = as_dict(mix)
    assert got["e"] == {"mix_饮料": 1.0, "mix_snacks_nuts": 0.0, "mix_日化": 0.0, MIX_OTHER: 0.0}
    assert got["b"]["mix_日化"] == 0.5
    assert all(abs(sum(r.values()) - 1) < 1e-9 for r in got.values())


def test_ties_in_revenue_are_broken_by_name():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "product_id": ["x", "y"],
            "order_time": pd.to_datetime(["2024-01-01"] * 2),
            "amount": [5.0, 5.0],
        }
    )
    products = pd.DataFrame({"product_id": ["x", "y"], "category": ["b", "a"]})
    _, cols = category_mix(orders, products, top_n=1)
    assert cols == {"mix_a": "a"}


def test_returns_flagged_by_is_return_are_left_out(orders, products):
    orders = orders.assign(is_return=[False, True, False, False, False, False, False, False, False])
    mix, _ = category_mix(orders, products, top_n=1, as_of="2024-02-01", window_days=31)
    assert as_dict(mix)["a"] == {
        "mix_饮料": pytest.approx(60 / 70),
        MIX_OTHER: pytest.approx(10 / 70),
    }


def test_top_zero_puts_everything_in_other(orders, products):
    mix, cols = category_mix(orders, products, top_n=0)
    assert cols == {}
    assert set(mix.columns) == {"customer_id", MIX_OTHER}
    assert set(mix[MIX_OTHER].to_pyarrow().to_pylist()) == {1.0}


def test_sanitised_names_are_unique_and_safe():
    cols = mix_column_names(["Soft Drinks", "soft-drinks", "other", "!!", "饮料/酒水", "ＡＢＣ"])
    assert list(cols) == [
        "mix_soft_drinks",
        "mix_soft_drinks_2",
        "mix_other_2",
        "mix_category",
        "mix_饮料_酒水",
        "mix_abc",
    ]
    assert cols["mix_soft_drinks"] == "Soft Drinks"


def test_bad_input(orders, products):
    with pytest.raises(ConfigError):
        category_mix(orders, products, top_n=-1)
    with pytest.raises(SchemaError, match="category"):
        category_mix(orders, products.drop(columns="category"))
    with pytest.raises(SchemaError, match="product_id"):
        category_mix(orders.drop(columns="product_id"), products)


@pytest.mark.realdata
def test_complete_journey_mix(shared_data):
    folder = shared_data / "complete_journey"
    tx = ibis.read_parquet(folder / "transactions_sample.parquet")
    orders = tx.select(
        customer_id=tx.household_id,
        order_id=tx.basket_id,
        order_time=tx.transaction_timestamp,
        product_id=tx.product_id,
        amount=tx.sales_value,
    )
    prod = ibis.read_parquet(folder / "products.parquet")
    products = prod.select("product_id", category=prod.department)
    mix, cols = category_mix(orders, products, top_n=5)
    assert len(cols) == 5
    df = mix.to_pandas()
    shares = df.drop(columns="customer_id")
    assert shares.min().min() >= 0 and shares.max().max() <= 1
    assert (shares.sum(axis=1) - 1).abs().max() < 1e-9
    assert df.customer_id.is_unique and len(df) > 1000
    assert "mix_grocery" in cols  # the largest department of a grocer
