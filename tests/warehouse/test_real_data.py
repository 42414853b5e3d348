"""The real data sets import with the documented counts.

Order of reasons (each line gets the first that applies): rejected (bad date or
amount) > exact duplicate > non-product > zero price > (excluded) return.  So a
published count of one kind of line can exceed ours when some of those lines
got an earlier reason.
"""

from __future__ import annotations

import pytest

from kehu.warehouse import connect, import_orders

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def online_retail(shared_data):
    return import_orders(shared_data / "online_retail" / "online_retail.parquet", con=connect(None))


def test_online_retail_counts(online_retail):
    s = online_retail.summary
    assert s.rows_read == 541_909
    # Every one of the README's 5,268 exact duplicate lines has an invoice number.
    assert s.set_aside == {"duplicate": 5_268, "non_product": 2_944, "zero_price": 2_492}
    assert s.rows_kept == 541_909 - 5_268 - 2_944 - 2_492 == 531_205
    # README: 9,288 C-invoice cancellation lines = 8,668 kept as netted returns
    #   + 37 exact duplicates + 583 non-product lines (M, D, POST, CRUK, BANK CHARGES ...).
    # The 1,336 other negative-quantity adjustments all have price 0: zero_price.
    # README: 135,080 lines without customer = 131,549 kept (no_customer)
    #   + 43 duplicates + 1,029 non-product + 2,459 zero-price.
    # README: 2,515 zero-price lines = 2,492 zero_price + 5 duplicates + 18 non-product.
    assert s.kept == {"return": 8_668, "no_customer": 131_549}
    assert s.rejected == {}


def test_online_retail_tables(online_retail):
    orders = online_retail.orders
    returns = orders.filter(orders.is_return)
    assert returns.count().execute() == 8_668
    assert returns.amount.max().execute() < 0
    assert orders.filter(orders.order_id.startswith("C")).count().execute() == 8_668
    ids = orders.customer_id.to_pyarrow()
    assert "17850" in ids.to_pylist() and not any("." in i for i in ids.drop_null().to_pylist())
    # 4,372 customers in the file; 10 of them have only set-aside lines.
    assert online_retail.customers.count().execute() == 4_362
    assert online_retail.customers.columns == ("customer_id", "country")
    assert set(online_retail.products.columns) == {"product_id", "name"}
    rejects = online_retail.rejects
    assert rejects.count().execute() == 10_704
    first = rejects.order_by("row").limit(1).to_pyarrow().to_pylist()[0]
    # file_row_number 45 (0-based) is the first POST line: spreadsheet row 47.
    assert (first["row"], first["column"], first["reason"], first["value"]) == (
        47,
        "StockCode",
        "non_product",
        "POST",
    )


def test_cdnow_master(shared_data):
    res = import_orders(shared_data / "cdnow" / "cdnow_master.parquet")
    s = res.summary
    # No order id, so the 255 identical same-day purchases are not duplicates, and
    # without a unit price the 80 $0 purchases are not zero-price lines.
    assert (s.rows_read, s.rows_kept, s.set_aside) == (69_659, 69_659, {})
    orders = res.orders
    assert orders.customer_id.nunique().execute() == 23_570
    assert orders.order_id.isnull().all().execute()
    assert orders.quantity.sum().execute() == 167_881  # sum of num_cds in the file
