"""The analyst's files and the team's store give the same classes: one pipeline, two sources.

The demo's files (duplicated lines, returns, GBK orders, Chinese headers) are classified
twice at the same as-of date: as ``kehu analyze`` does (files imported into DuckDB) and as
``kehu refresh`` does (the files loaded into the store, read back from SQLite or
PostgreSQL).  Every customer's class from every rule classifier must be the same.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kehu.config import Settings
from kehu.demo import generate_demo
from kehu.services.analysis import classify_imported, load
from kehu.services.refresh import refresh
from kehu.services.store_load import load_files
from kehu.store.models import ClassificationResult, Customer

AS_OF = dt.date(2024, 10, 1)
#: the class columns the store keeps for every customer
CLASSES = ("rfm8", "segment", "freq_tier", "spend_tier", "abc", "lifecycle", "grade")


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    return generate_demo(tmp_path_factory.mktemp("demo"), customers=300, start="2023-01-01")


def test_analyze_and_refresh_give_identical_classes(store_factory, demo_files):
    settings = Settings(predictions=False)
    imported = load(
        demo_files["orders"],
        settings=settings,
        customers=demo_files["customers"],
        products=demo_files["products"],
    )
    analyst = classify_imported(imported, settings=settings, as_of=AS_OF).table
    analyst = {
        row["customer_id"]: tuple(row[c] for c in CLASSES)
        for row in analyst.select("customer_id", *CLASSES).to_pyarrow().to_pylist()
    }

    load_files(
        store_factory,
        orders=demo_files["orders"],
        customers=demo_files["customers"],
        products=demo_files["products"],
    )
    run = refresh(store_factory, settings=settings, as_of=AS_OF)
    with store_factory() as s:
        rows = s.execute(
            select(Customer.code, *(getattr(ClassificationResult, c) for c in CLASSES))
            .join(Customer, Customer.id == ClassificationResult.customer_id)
            .where(ClassificationResult.run_id == run.run_id)
        ).all()
    store = {code: tuple(values) for code, *values in rows}

    assert len(analyst) > 250  # most of the 300 customers bought before the as-of date
    assert store.keys() == analyst.keys()
    differ = {k: (analyst[k], store[k]) for k in analyst if analyst[k] != store[k]}
    assert not differ, list(differ.items())[:5]
