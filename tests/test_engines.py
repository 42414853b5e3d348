"""The same analytics on DuckDB and on PySpark (local mode) give the same answers.

Analytics are written once as Ibis expressions; these tests run them on both
engines over the same data (a small demo data set and a hand-made case with
ties, returns, missing order ids and lines outside the window) and require
identical results: exact for integers, strings and dates, 1e-9 relative for
floats.  They need ``pyspark`` and a Java runtime; without them they skip,
except under CI (``CI`` set), where a missing engine is a failure.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

from kehu.analytics.classify import RULE_CLASSIFIERS, classify
from kehu.analytics.features import CUSTOMER_FEATURE_COLUMNS, customer_features
from kehu.analytics.rfm import rfm_summary
from kehu.analytics.schema import RFM_COLUMNS
from kehu.demo import generate_demo

pytestmark = pytest.mark.spark

REL = 1e-9


def _missing_engine(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: the engine tests must run in CI")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark session for the whole run (2 threads, UTC, no UI)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        _missing_engine("pyspark is not installed (pip install 'kehu[spark]')")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        _missing_engine("no Java runtime for Spark (java not on PATH and JAVA_HOME unset)")
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("kehu-engine-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def engines(spark) -> dict[str, Any]:
    return {"duckdb": ibis.duckdb.connect(), "pyspark": ibis.pyspark.connect(spark)}


# --- data -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_frames(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """A small demo data set, mapped crudely to the canonical columns."""
    files = generate_demo(tmp_path_factory.mktemp("demo"), customers=120, days=365, seed=11)
    return _map_demo(files)


def _map_demo(files: dict[str, Path]) -> dict[str, pd.DataFrame]:
    o = pd.read_csv(files["orders"], encoding="gbk", dtype=str)
    o = o[o["订单状态"] != "已取消"]
    orders = pd.DataFrame(
        {
            "customer_id": o["客户编号"].astype(object),
            "order_id": o["订单号"].astype(object),
            "order_time": pd.to_datetime(o["下单时间"], format="%Y-%m-%d %H:%M:%S"),
            "product_id": o["商品编码"].astype(object),
            "quantity": o["数量"].astype("float64"),
            "price": o["单价"].astype("float64"),
            "amount": o["金额"].astype("float64"),
            "is_return": (o["订单状态"] == "退货").to_numpy(),
        }
    )
    p = pd.read_csv(files["products"], encoding="utf-8-sig", dtype=str)
    products = pd.DataFrame(
        {
            "product_id": p["商品编码"].astype(object),
            "category": p["品类"].astype(object),
            "brand": p["品牌"].astype(object),
            "price": p["单价"].astype("float64"),
        }
    )
    c = pd.read_csv(files["customers"], encoding="utf-8-sig", dtype=str)
    customers = pd.DataFrame(
        {
            "customer_id": c["客户编号"],
            "province": c["省份"],
            "city": c["城市"],
            "district": c["区县"],
            "area_type": c["城乡类型"],
            "channel": c["渠道"],
            "gender": c["性别"],
            "sales_rep": c["业务员"],
        }
    ).astype(object)
    return {"orders": orders, "products": products, "customers": customers}


def _hand_orders() -> pd.DataFrame:
    """Ties (a and b are identical in R, F and M), returns, null ids, out-of-window lines."""
    rows = [
        # customer, order id, time, product, quantity, amount, is_return
        ("a", "o1", "2024-01-01 09:00", "p1", 1.0, 10.0, False),
        ("a", "o1", "2024-01-01 09:00", "p2", 2.0, 20.0, False),
        ("a", "o2", "2024-01-05 18:30", "p1", 3.0, 30.0, False),
        ("b", "o3", "2024-01-02 08:00", "p3", 1.0, 40.0, False),
        ("b", "o4", "2024-01-05 08:00", "p2", 2.0, 20.0, False),
        ("c", "o5", "2024-01-08 10:00", "p3", 2.0, 100.0, False),
        ("c", "r5", "2024-01-09 11:00", "p3", -1.0, -30.0, True),  # partial return
        ("d", "r6", "2024-01-03 12:00", "p1", -1.0, -10.0, True),  # only a return: no purchase
        ("e", None, "2024-01-04 10:00", "p1", 1.0, 5.0, False),  # no order id: the time
        ("e", None, "2024-01-04 15:00", "p1", 1.0, 5.0, False),  # ... identifies the order
        ("f", "o7", "2023-12-20 23:59", "p2", 1.0, 15.0, False),
        ("f", "o8", "2024-01-10 00:00", "p2", 1.0, 99.0, False),  # on as_of: excluded
        ("g", "o9", "2024-01-06 07:00", "p1", 1.0, 7.0, False),
        ("g", "o9", "2024-01-06 07:00", "p1", 1.0, 7.0, False),  # duplicate line, one order
        (None, "o10", "2024-01-07 12:00", "p3", 1.0, 50.0, False),  # walk-in: no customer
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "order_id",
            "order_time",
            "product_id",
            "quantity",
            "amount",
            "is_return",
        ],
    )
    df["order_time"] = pd.to_datetime(df["order_time"], format="%Y-%m-%d %H:%M")
    for col in ("customer_id", "order_id", "product_id"):
        df[col] = df[col].astype(object)
    return df


HAND_PRODUCTS = pd.DataFrame(
    {
        "product_id": ["p1", "p2", "p3"],
        "category": ["饮料", "零食", "饮料"],
        "brand": ["清源", "脆乐", "山茶"],
        "price": [10.0, 10.0, 50.0],
    }
).astype({"product_id": object, "category": object, "brand": object})


# --- running on both engines and comparing ------------------------------------------------


def on_both(
    engines: dict[str, Any],
    frames: dict[str, pd.DataFrame],
    compute: Callable[..., Any],
) -> dict[str, Any]:
    """Load ``frames`` into each engine and return ``compute(**tables)`` per engine.

    ``compute`` returns an Ibis table (executed to pandas here) or a tuple
    ``(table, extra)`` where ``extra`` is plain Python data to compare as well.
    """
    out = {}
    for name, con in engines.items():
        tables = {
            key: con.create_view(f"kehu_{key}", ibis.memtable(df), overwrite=True)
            for key, df in frames.items()
        }
        result = compute(**tables)
        extra = None
        if isinstance(result, tuple):
            result, extra = result
        out[name] = (result.to_pandas(), extra)
    return out


def assert_same_frames(a: pd.DataFrame, b: pd.DataFrame, key: str = "customer_id") -> None:
    """Identical after sorting by ``key``: exact, except floats to 1e-9 relative."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b), f"{len(a)} rows on DuckDB, {len(b)} on PySpark"
    a = a.sort_values(key, ignore_index=True)
    b = b.sort_values(key, ignore_index=True)
    for col in a.columns:
        x, y = a[col], b[col]
        nx, ny = x.isna().to_numpy(), y.isna().to_numpy()
        assert (nx == ny).all(), f"{col}: nulls differ at rows {np.flatnonzero(nx != ny)[:5]}"
        xs, ys = x[~nx], y[~ny]
        if pd.api.types.is_float_dtype(x) or pd.api.types.is_float_dtype(y):
            xv, yv = xs.to_numpy(dtype="float64"), ys.to_numpy(dtype="float64")
            close = np.isclose(xv, yv, rtol=REL, atol=0.0)
            bad = np.flatnonzero(~close)
            assert close.all(), f"{col}: {xv[bad][:3]} (DuckDB) != {yv[bad][:3]} (PySpark)"
        else:
            xl, yl = [_plain(v) for v in xs], [_plain(v) for v in ys]
            bad = [i for i, (u, v) in enumerate(zip(xl, yl, strict=True)) if u != v]
            assert not bad, f"{col}: {[xl[i] for i in bad[:3]]} != {[yl[i] for i in bad[:3]]}"


def _plain(value: Any) -> Any:
    """Dates, timestamps and numpy scalars as comparable plain values."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def assert_same_values(a: Any, b: Any, where: str = "") -> None:
    """Nested records (dicts, lists, numbers) equal, floats to 1e-9 relative."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            assert_same_values(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            assert_same_values(u, v, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=REL, abs_tol=0.0), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same(results: dict[str, Any]) -> pd.DataFrame:
    (a, ea), (b, eb) = results["duckdb"], results["pyspark"]
    assert_same_frames(a, b)
    assert_same_values(ea, eb, "records")
    return a.sort_values("customer_id", ignore_index=True)


# --- RFM summary ----------------------------------------------------------------------------


def test_rfm_hand_case(engines):
    res = on_both(
        engines, {"orders": _hand_orders()}, lambda orders: rfm_summary(orders, as_of="2024-01-10")
    )
    got = assert_same(res)
    assert list(got.columns) == list(RFM_COLUMNS)
    # worked by hand: n = 6 customers, score = 1 + rank (0-based min rank), capped at 5
    expected = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "e", "f", "g"],
            "recency_days": [5, 5, 2, 6, 21, 4],
            "orders": [2, 2, 1, 2, 1, 1],
            "monetary": [60.0, 60.0, 70.0, 10.0, 15.0, 14.0],
            "avg_order_value": [30.0, 30.0, 70.0, 5.0, 15.0, 14.0],
            "r_score": [3, 3, 5, 2, 1, 5],
            "f_score": [4, 4, 1, 4, 1, 1],
            "m_score": [4, 4, 5, 1, 3, 2],
        }
    )
    pd.testing.assert_frame_equal(
        got[expected.columns].astype({"customer_id": object}), expected, check_dtype=False
    )
    assert [str(d)[:10] for d in got.first_purchase] == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-08",
        "2024-01-04",
        "2023-12-20",
        "2024-01-06",
    ]


def test_rfm_demo_default_as_of(engines, demo_frames):
    res = on_both(engines, {"orders": demo_frames["orders"]}, lambda orders: rfm_summary(orders))
    got = assert_same(res)
    assert len(got) > 80 and got.orders.min() >= 1
    assert set(got.r_score) == {1, 2, 3, 4, 5}


def test_rfm_demo_window(engines, demo_frames):
    res = on_both(
        engines,
        {"orders": demo_frames["orders"]},
        lambda orders: rfm_summary(orders, as_of="2023-10-01", window_days=90),
    )
    got = assert_same(res)
    assert str(got.first_purchase.min())[:10] >= "2023-07-03"
    assert str(got.last_purchase.max())[:10] <= "2023-09-30"


# --- features and the rule classifiers ---------------------------------------------------------


def _classified(params: dict | None = None, **feature_args) -> Callable[..., Any]:
    def compute(orders, products, customers=None):
        f = customer_features(orders, products=products, customers=customers, **feature_args)
        f = f.cache()  # as the services do: every fit reads the features
        table, fitted = classify(f, RULE_CLASSIFIERS, params=params)
        return table, [clf.record() for clf in fitted]

    return compute


def test_features_and_rule_classifiers_demo(engines, demo_frames):
    # the classified table carries every feature column, so this checks the features too
    got = assert_same(on_both(engines, demo_frames, _classified()))
    assert list(got.columns[: len(CUSTOMER_FEATURE_COLUMNS)]) == list(CUSTOMER_FEATURE_COLUMNS)
    assert got.top_category.notna().all() and got.channel.notna().all()
    assert got.rfm8.nunique() >= 6 and got.grade.nunique() >= 20
    assert set(got.abc) == {"A", "B", "C"}


def test_rule_classifiers_demo_quantile_thresholds(engines, demo_frames):
    # medians and quantiles are where engines most easily disagree
    params = {
        "rfm8": {"threshold": "median", "monetary": "average"},
        "spend_tier": {"high_share": 0.1, "medium_share": 0.4},
    }
    frames = {k: demo_frames[k] for k in ("orders", "products")}
    got = assert_same(
        on_both(engines, frames, _classified(params, as_of="2023-09-01", window_days=180))
    )
    assert got.rfm8.nunique() >= 4


def test_rule_classifiers_hand_case(engines):
    frames = {"orders": _hand_orders(), "products": HAND_PRODUCTS}
    got = assert_same(on_both(engines, frames, _classified(as_of="2024-01-10")))
    assert list(got.customer_id) == ["a", "b", "c", "e", "f", "g"]
    # a and b are tied in R, F and M: every RFM-based class must agree
    a, b = got.iloc[0], got.iloc[1]
    for col in ("r_score", "f_score", "m_score", "rfm8", "segment", "spend_tier", "abc"):
        assert a[col] == b[col], col
