"""Data shared by the churn tests: simulated customers with known churn, and Online Retail."""

from __future__ import annotations

import pandas as pd
import pytest

from kehu.analytics.churn import simulate_churn


@pytest.fixture(scope="session")
def simulated():
    """4,000 simulated customers (2022-2024, high churn) and the truth about their churn."""
    return simulate_churn(4000, seed=1)


@pytest.fixture(scope="session")
def simulated_low():
    """The same 4,000 customers in the low-churn setting (about 20% churn in 90 days)."""
    return simulate_churn(4000, churn="low", seed=1)


@pytest.fixture(scope="session")
def online_retail_orders(shared_data) -> pd.DataFrame:
    """Online Retail mapped crudely to the canonical columns (customers only)."""
    raw = pd.read_parquet(shared_data / "online_retail" / "online_retail.parquet")
    raw = raw[raw["CustomerID"].notna()]
    return pd.DataFrame(
        {
            "customer_id": raw["CustomerID"].astype("int64").astype(str),
            "order_id": raw["InvoiceNo"].astype(str),
            "order_time": raw["InvoiceDate"],
            "product_id": raw["StockCode"].astype(str),
            "quantity": raw["Quantity"].astype(float),
            "amount": raw["Quantity"] * raw["UnitPrice"],
            "is_return": raw["InvoiceNo"].astype(str).str.startswith("C"),
        }
    )
