"""`analyze` end to end: every output, on generated, hand-made and real data."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from kehu.analytics.schema import RFM_COLUMNS
from kehu.config import Settings
from kehu.demo import generate_demo
from kehu.report.outputs import analysis_files
from kehu.services import analysis
from kehu.services.predictions import PREDICTION_COLUMNS
from kehu.services.runs import RunStore

CLASS_COLUMNS = (
    "rfm8",
    "rfm8_en",
    "segment",
    "freq_tier",
    "spend_tier",
    "abc",
    "value_decile",
    "lifecycle",
    "grade",
    "cluster",
    "cluster_label",
)


def analyze(paths, *, out_dir, settings, **kwargs):
    """As `kehu analyze` does: the job (runs kept in OUT/runs), then its files in OUT."""
    result = analysis.analyze(paths, settings=settings, runs_dir=out_dir / "runs", **kwargs)
    files = analysis_files(result, out_dir, settings.lang)
    return SimpleNamespace(**vars(result), files=files, out_dir=out_dir)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    files = generate_demo(root / "data", customers=300, seed=1)
    result = analyze(
        [files["orders"]],
        customers=[files["customers"]],
        products=[files["products"]],
        out_dir=root / "out",
        settings=Settings(),
    )
    return files, result


def test_every_output_is_written(demo_run):
    _, result = demo_run
    names = {p.name for p in result.files.values()}
    assert names >= {
        "customers.parquet",
        "customers.xlsx",
        "classes.parquet",
        "report.html",
        "import_summary.json",
        "rejects.csv",
        "run.json",
    }
    for path in result.files.values():
        assert path.stat().st_size > 0, path


def test_customer_table_has_the_contract_classes_and_predictions(demo_run):
    _, result = demo_run
    table = pd.read_parquet(result.out_dir / "customers.parquet")
    assert tuple(table.columns[: len(RFM_COLUMNS)]) == RFM_COLUMNS
    assert set(CLASS_COLUMNS) <= set(table.columns)
    assert set(PREDICTION_COLUMNS) <= set(table.columns)
    assert table.customer_id.is_unique
    assert list(table.customer_id) == sorted(table.customer_id)
    assert table.customer_id.str.len().eq(6).all()  # leading zeros kept: 000123
    assert table.orders.ge(1).all() and table.recency_days.ge(1).all()
    assert table.p_alive.dropna().between(0, 1).all()
    assert table.churn_risk.dropna().between(0, 1).all()
    assert table.region.notna().any() and table.top_category.notna().any()


def test_one_row_per_customer_with_a_kept_purchase(demo_run):
    files, result = demo_run
    orders = pd.read_csv(files["orders"], encoding="gbk", dtype={"客户编号": str})
    kept = orders[orders["订单状态"].eq("已完成") & orders["金额"].gt(0)]
    assert set(result.customers.customer_id) == set(kept["客户编号"].dropna())


def test_class_profiles_and_run_records(demo_run):
    _, result = demo_run
    classes = pd.read_parquet(result.out_dir / "classes.parquet")
    assert {"rfm8", "segment", "lifecycle", "abc"} <= set(classes.classifier)
    rfm8 = classes[classes.classifier == "rfm8"]
    assert rfm8.customers.sum() == len(result.customers)
    assert rfm8.customer_share.sum() == pytest.approx(1.0)
    run = json.loads((result.out_dir / "run.json").read_text(encoding="utf-8"))
    records = {r["classifier"]: r for r in run["classifiers"]}
    assert {"rfm8", "segment", "grade", "lifecycle", "cluster"} <= set(records)
    assert records["rfm8"]["version"].startswith("rfm8/")
    assert records["rfm8"]["thresholds"]  # the mean R, F and M used


def test_runs_are_kept_for_migration(demo_run):
    _, result = demo_run
    runs = RunStore(result.out_dir / "runs").list()
    assert len(runs) == 2  # the as-of date and 90 days before it
    assert runs[1].as_of - runs[0].as_of == pd.Timedelta(days=90).to_pytimedelta()


def test_report_has_every_section(demo_run):
    _, result = demo_run
    html = (result.out_dir / "report.html").read_text(encoding="utf-8")
    for section in ("classes", "rfm-heat", "profiles", "migration", "cohorts", "clv", "churn"):
        assert f'id="{section}"' in html, section
    assert "重要价值客户" in html
    assert "https://" not in html.split("<script", 1)[0]  # no external stylesheet or font


def test_rerun_is_idempotent(demo_run, tmp_path):
    files, result = demo_run
    again = analyze(
        [files["orders"]],
        customers=[files["customers"]],
        products=[files["products"]],
        out_dir=result.out_dir,
        settings=Settings(),
    )
    assert again.run_id == result.run_id
    assert len(RunStore(result.out_dir / "runs").list()) == 2
    pd.testing.assert_frame_equal(
        again.customers.drop(columns=["churn_reasons"]),
        result.customers.drop(columns=["churn_reasons"]),
    )


def _chinese_orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "会员号": ["007", "007", "012", "012", "012", "030", None],
            "单据编号": ["D1", "D2", "D3", "D4", "T5", "D6", "D7"],
            "交易日期": [
                "2024年1月2日",
                "2024/3/5 10:30",
                "2024-01-20",
                "2024-02-20",
                "2024-02-21",
                "2024-03-01",
                "2024-03-02",
            ],
            "商品编码": ["SP01", "SP02", "SP01", "SP03", "SP03", "SP02", "SP01"],
            "数量": [2, 1, 5, 3, -1, 1, 1],
            "实付金额": [20.0, 35.5, 50.0, 30.0, -10.0, 35.5, 10.0],
            "省份": ["浙江省", "浙江省", "广东省", "广东省", "广东省", "四川省", None],
        }
    )


def test_gbk_csv_and_excel_give_the_same_customers(tmp_path):
    df = _chinese_orders()
    csv = tmp_path / "订单.csv"
    df.to_csv(csv, index=False, encoding="gbk")
    xlsx = tmp_path / "订单.xlsx"
    df.to_excel(xlsx, index=False)
    settings = Settings(predictions=False)
    a = analyze([csv], out_dir=tmp_path / "a", settings=settings).customers
    b = analyze([xlsx], out_dir=tmp_path / "b", settings=settings).customers
    assert list(a.customer_id) == ["007", "012", "030"]
    # 012: two purchases and a return netted; as of the day after the last order (03-06)
    row = a.set_index("customer_id").loc["012"]
    assert (row.orders, row.monetary, row.recency_days) == (2, 70.0, 15)
    assert row.province == "广东省"
    cols = [c for c in a.columns if c not in ("cluster", "cluster_label")]
    pd.testing.assert_frame_equal(a[cols], b[cols])


@pytest.mark.realdata
def test_online_retail(shared_data, tmp_path):
    result = analyze(
        [shared_data / "online_retail" / "online_retail.parquet"],
        out_dir=tmp_path,
        settings=Settings(as_of="2011-12-10", lang="en"),
    )
    summary = json.loads((tmp_path / "import_summary.json").read_text(encoding="utf-8"))
    assert summary["rows_read"] == 541_909
    assert summary["set_aside"]["duplicate"] == 5_268
    assert summary["set_aside"]["non_product"] > 0 and summary["set_aside"]["zero_price"] > 0
    lines = " ".join(result.classified.imported.summary.describe("en"))
    for words in ("duplicate", "non-product", "no customer id", "cancellation"):
        assert words in lines, words
    orders = result.classified.imported.orders.to_pandas()
    buyers = orders[orders.customer_id.notna() & ~orders.is_return].customer_id.unique()
    assert len(result.customers) == len(buyers)
    assert result.customers.customer_id.is_unique
    assert result.customers.clv.notna().mean() > 0.95
    assert (tmp_path / "rejects.csv").stat().st_size > 0


@pytest.mark.realdata
def test_cdnow_master(shared_data, tmp_path):
    result = analyze(
        [shared_data / "cdnow" / "cdnow_master.parquet"],
        out_dir=tmp_path,
        settings=Settings(predictions=False),
    )
    assert len(result.customers) == 23_570
    assert result.customers.rfm8.notna().all()


def test_churn_reasons_in_both_languages_for_the_store(demo_run):
    """The store's pages show either language: the same risks, reasons worded in each."""
    import re

    from kehu.services.analysis import load
    from kehu.services.predictions import predict

    files, result = demo_run
    imported = load(
        [files["orders"]],
        settings=Settings(),
        customers=[files["customers"]],
        products=[files["products"]],
    )
    got = predict(
        imported.orders,
        imported.products,
        as_of=result.classified.as_of,
        lang="zh",
        reasons_in_both=True,
    ).customers.dropna(subset=["churn_risk"])
    han = re.compile(r"[\u4e00-\u9fff]")
    assert (got.churn_reasons_zh == got.churn_reasons).all()
    worded = got[got.churn_reasons_zh.str.len() > 0]
    assert len(worded) > 10
    assert worded.churn_reasons_zh.map(lambda t: bool(han.search(t))).all()
    assert not worded.churn_reasons_en.map(lambda t: bool(han.search(t))).any()
    assert (got.churn_reasons_en.str.len().gt(0) == got.churn_reasons_zh.str.len().gt(0)).all()
