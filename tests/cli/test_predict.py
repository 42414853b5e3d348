"""`kehu clv` and `kehu recommend` on real data, checked through their JSON outputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from kehu.cli.main import main

pytestmark = pytest.mark.realdata


def test_clv_reproduces_published_cdnow_values(shared_data, tmp_path, capsys):
    code = main(
        [
            "clv",
            str(shared_data / "cdnow" / "cdnow_sample.parquet"),
            "--calibration-end",
            "1997-09-30",
            "--holdout-end",
            "1998-06-30",
            "--out",
            str(tmp_path),
            "--format",
            "csv",
        ]
    )
    assert code == 0, capsys.readouterr().err
    params = json.loads((tmp_path / "params.json").read_text(encoding="utf-8"))
    # Fader, Hardie & Lee (2005)
    assert params["model"] == "bgnbd"
    assert params["n_customers"] == 2357
    assert params["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    for name, value in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert params["params"][name] == pytest.approx(value, abs=0.0015), name
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert params["spend_params"][name] == pytest.approx(value, abs=0.006), name
    customers = pd.read_parquet(tmp_path / "customers.parquet")
    assert len(customers) == 2357
    assert {"probability_alive", "expected_purchases", "clv"} <= set(customers.columns)
    assert customers.probability_alive.between(0, 1).all()
    assert (tmp_path / "customers.csv").is_file()
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["holdout_predicted"] == pytest.approx(metrics["holdout_actual"], rel=0.15)


def test_clv_bad_dates_are_one_line(shared_data, tmp_path, capsys):
    code = main(
        [
            "clv",
            str(shared_data / "cdnow" / "cdnow_sample.parquet"),
            "--calibration-end",
            "1997-09-30",
            "--holdout-end",
            "1997-01-01",
            "--out",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "--holdout-end" in err and "Traceback" not in err


def test_clv_empty_calibration_period(shared_data, tmp_path, capsys):
    code = main(
        [
            "clv",
            str(shared_data / "cdnow" / "cdnow_sample.parquet"),
            "--calibration-end",
            "1990-01-01",
            "--out",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err


def test_recommend_writes_metrics_and_lists(tmp_path, capsys):
    # a small shop: two groups of products bought together
    rows = []
    for c in range(60):
        group = ["a", "b", "c"] if c % 2 else ["x", "y", "z"]
        for i, p in enumerate(group[: 2 + c % 2]):
            day = 1 + i * 20 + c % 5
            rows.append((f"c{c:03d}", f"o{c}-{i}", f"2024-01-{day:02d}", p, 1, 10.0))
    df = pd.DataFrame(
        rows, columns=["customer_id", "order_id", "order_time", "product_id", "quantity", "amount"]
    )
    f = tmp_path / "orders.csv"
    df.to_csv(f, index=False)
    out = tmp_path / "rec"
    code = main(["recommend", str(f), "-k", "2", "--split-date", "2024-01-15", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert {"model", "global_popularity", "segment_popularity"} <= set(metrics)
    recs = pd.read_parquet(out / "recommendations.parquet")
    assert set(recs.columns) >= {"customer_id", "rank", "product_id", "score", "reason"}
    assert recs.groupby("customer_id").size().max() <= 2


def test_churn_writes_metrics_predictions_and_model(tmp_path, capsys):
    from kehu.analytics.churn import simulate_churn

    orders, _truth = simulate_churn(800, start="2023-01-01", end="2024-06-30", seed=3)
    f = tmp_path / "orders.parquet"
    orders.to_parquet(f, index=False)
    out = tmp_path / "churn"
    code = main(["churn", str(f), "--cutoff", "2024-03-01", "--horizon", "90", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    scores = metrics["metrics"]
    assert {"model", "recency", "bgnbd"} == set(scores)
    assert scores["model"]["roc_auc"] > scores["bgnbd"]["roc_auc"]
    churn = pd.read_parquet(out / "churn.parquet")
    assert churn.churn_risk.between(0, 1).all()
    assert churn.churn_reasons.str.len().gt(0).any()
    assert (out / "churn_model.zip").is_file()


def test_churn_bad_horizon(tmp_path, capsys):
    f = tmp_path / "o.csv"
    f.write_text("customer_id,order_time,amount\na,2024-01-01,1\n", encoding="utf-8")
    code = main(["churn", str(f), "--horizon", "0", "--out", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 1 and "--horizon" in err and "Traceback" not in err
