"""Generate the demo data set and write its three files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from kehu.demo.catalogue import product_table
from kehu.demo.customers import simulate_customers
from kehu.demo.orders import simulate_orders
from kehu.exceptions import ConfigError
from kehu.writers import write_csv


def generate_demo(
    out_dir: str | Path,
    *,
    customers: int = 3000,
    start: str | dt.date = "2023-01-01",
    days: int = 730,
    seed: int = 7,
) -> dict[str, Path]:
    """Write a demo data set of a Chinese FMCG distributor and its customers.

    Parameters
    ----------
    out_dir
        Folder to write into (created if needed).
    customers
        Number of customers in the master data (about 50 order lines each).
    start
        First day of the order history (a date or ``YYYY-MM-DD``).
    days
        Length of the order history in days.
    seed
        Random seed: the same arguments give byte-identical files.

    Returns
    -------
    The paths written, by name: ``customers`` (``customers.csv``, UTF-8 with
    BOM), ``products`` (``products.csv``, UTF-8 with BOM) and ``orders``
    (``orders.csv``, GBK), with the Chinese headers of :data:`CUSTOMER_HEADERS`,
    :data:`PRODUCT_HEADERS` and :data:`ORDER_HEADERS`.

    Examples
    --------
    >>> files = generate_demo("demo-data", customers=300)  # doctest: +SKIP
    >>> sorted(files)  # doctest: +SKIP
    ['customers', 'orders', 'products']
    """
    if not isinstance(customers, int | np.integer) or customers < 1:
        raise ConfigError(f"customers must be a positive whole number, got {customers!r}")
    if not isinstance(days, int | np.integer) or days < 7:
        raise ConfigError(f"days must be a whole number of at least 7, got {days!r}")
    first_day = _parse_start(start)
    rng = np.random.default_rng(seed)

    products = product_table()
    cust = simulate_customers(rng, customers, first_day, days)
    orders = simulate_orders(rng, cust, products, first_day, days)

    out = Path(out_dir)
    paths = {
        "customers": out / "customers.csv",
        "products": out / "products.csv",
        "orders": out / "orders.csv",
    }
    write_csv(paths["customers"], cust["table"])
    write_csv(paths["products"], products.drop(columns=["_premium"]), float_format="%.2f")
    # the orders as a Chinese ERP exports them: GBK, two decimals, full timestamps
    write_csv(
        paths["orders"],
        orders,
        encoding="gbk",
        float_format="%.2f",
        date_format="%Y-%m-%d %H:%M:%S",
    )
    return paths


def _parse_start(start: str | dt.date) -> dt.date:
    """The first day from a date, a datetime or ``YYYY-MM-DD``; anything else is refused."""
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date):
        return start
    try:
        return dt.date.fromisoformat(str(start))
    except ValueError:
        raise ConfigError(f"start: {start!r} is not a date (expected YYYY-MM-DD)") from None
