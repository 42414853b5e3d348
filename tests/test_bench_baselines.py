"""kehu classify, the bench's hand-written SQL and its pandas baseline agree on real data.

The benchmarks compare kehu with a DuckDB SQL script and a pandas program that
do the same job (``bench/same_work_sql.py``, ``bench/same_work_pandas.py``).
The bench's generated data have no duplicates, fee lines or zero prices, so
here the three run on Online Retail, which has all of those, cancellations and
lines without a customer: every column of the per-customer table must agree.
Three implementations written independently agreeing is also a check of kehu's
classifiers against the rules as the docs state them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from kehu.config import Settings
from kehu.services.analysis import classify_files
from kehu.writers import write_parquet

BENCH = Path(__file__).resolve().parents[1] / "bench"

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def baselines():
    sys.path.insert(0, str(BENCH))
    try:
        import bench_rfm
        import same_work_pandas
        import same_work_sql
    finally:
        sys.path.remove(str(BENCH))
    return bench_rfm, same_work_sql, same_work_pandas


def test_kehu_and_both_same_work_baselines_agree_on_online_retail(shared_data, tmp_path, baselines):
    bench_rfm, same_work_sql, same_work_pandas = baselines
    source = shared_data / "online_retail" / "online_retail.parquet"
    lines = tmp_path / "lines.parquet"  # the canonical columns the baselines read
    duckdb.connect().execute(
        f"""COPY (SELECT CAST(CustomerID AS VARCHAR) AS customer_id, InvoiceNo AS order_id,
            InvoiceDate AS order_time, StockCode AS product_id,
            CAST(Quantity AS DOUBLE) AS quantity, UnitPrice AS price,
            round(Quantity * UnitPrice, 2) AS amount
        FROM read_parquet('{source}')) TO '{lines}' (FORMAT parquet)"""
    )
    out = {name: tmp_path / f"{name}.parquet" for name in ("kehu", "sql", "pandas")}
    write_parquet(
        out["kehu"], classify_files([lines], settings=Settings()).table.order_by("customer_id")
    )
    same_work_sql.run([str(lines)], str(out["sql"]))
    same_work_pandas.run([str(lines)], str(out["pandas"]))
    for other in ("sql", "pandas"):
        summary = bench_rfm.compare({"kehu": out["kehu"], other: out[other]})
        assert summary.startswith("4,334 customers identical in first_purchase")
        assert "lifecycle, grade_score, grade" in summary
