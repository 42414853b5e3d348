"""Benchmark the churn model against its two baselines, out of time.

    python bench/bench_churn.py                 # Online Retail + simulated customers
    python bench/bench_churn.py --seeds 5 --customers 20000

For each data set, :func:`kehu.analytics.churn.evaluate_churn` fits the model
at a training cut-off and scores every customer at a later test cut-off whose
90-day horizon is observed; the model is compared with recency alone (rank
of days since the last purchase) and with BG/NBD (1 - P(alive)).  Prints
markdown tables (measures, calibration curve, wall time) to paste into
``bench/README.md``.

* Online Retail (``../shared/data/online_retail``), mapped crudely: customer =
  CustomerID (lines without one dropped), order = InvoiceNo, return =
  InvoiceNo starting with "C", amount = Quantity x UnitPrice.  Train cut-off
  2011-06-01, test cut-off 2011-09-01 (and, with ``--sigmoid``, Platt
  calibration as well).
* Simulated customers with known churn
  (:func:`kehu.analytics.churn.simulate_churn`), several seeds; train cut-off
  2024-03-01, test cut-off 2024-06-01.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kehu.analytics.churn import evaluate_churn, simulate_churn

HERE = Path(__file__).resolve().parent
RETAIL = HERE.parents[1] / "shared" / "data" / "online_retail" / "online_retail.parquet"
HORIZON = 90


def online_retail() -> pd.DataFrame:
    raw = pd.read_parquet(RETAIL)
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


def run(name: str, orders: pd.DataFrame, c1: str, c2: str, **kw) -> dict:
    t = time.perf_counter()
    r = evaluate_churn(orders, train_cutoff=c1, test_cutoff=c2, horizon_days=HORIZON, **kw)
    r["seconds"] = time.perf_counter() - t
    r["name"] = name
    r["lines"] = len(orders)
    return r


def fmt(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def measures_table(results: list[dict]) -> str:
    rows = [
        "| data | customers (train / test) | churn rate (train / test) | score | ROC AUC | PR AUC "
        "| top-decile lift | Brier |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for score, label in (
            ("model", "**churn model**"),
            ("recency", "recency alone"),
            ("bgnbd", "BG/NBD 1 - P(alive)"),
        ):
            m = r["metrics"][score]
            rows.append(
                f"| {r['name']} | {r['train_customers']:,} / {r['test_customers']:,} "
                f"| {r['train_churn_rate']:.3f} / {r['test_churn_rate']:.3f} | {label} "
                f"| {fmt(m['roc_auc'])} | {fmt(m['pr_auc'])} | {fmt(m['top_decile_lift'], 2)} "
                f"| {fmt(m['brier'])} |"
            )
    return "\n".join(rows)


def calibration_table(r: dict) -> str:
    rows = [
        f"Calibration of the churn model, {r['name']} (test cut-off {r['test_cutoff']}):",
        "",
        "| predicted bin | customers | mean predicted | observed churn |",
        "|---|---:|---:|---:|",
    ]
    for b in r["metrics"]["model"]["calibration"]:
        rows.append(
            f"| {b['bin_low']:.1f}–{b['bin_high']:.1f} | {b['customers']:,} "
            f"| {b['predicted']:.3f} | {b['observed']:.3f} |"
        )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=4000, help="simulated customers per seed")
    ap.add_argument("--seeds", type=int, default=3, help="simulated data sets")
    ap.add_argument(
        "--sigmoid", action="store_true", help="also Platt calibration on Online Retail"
    )
    args = ap.parse_args()

    results = []
    if RETAIL.exists():
        orders = online_retail()
        results.append(run("Online Retail", orders, "2011-06-01", "2011-09-01"))
        if args.sigmoid:
            results.append(
                run(
                    "Online Retail (sigmoid)",
                    orders,
                    "2011-06-01",
                    "2011-09-01",
                    calibration="sigmoid",
                )
            )
    else:
        print(f"(Online Retail not found at {RETAIL}: skipped)")
    for seed in range(1, args.seeds + 1):
        orders, _ = simulate_churn(args.customers, seed=seed)
        results.append(run(f"simulated, seed {seed}", orders, "2024-03-01", "2024-06-01"))

    print(
        f"Run of {time.strftime('%Y-%m-%d')} ({platform.machine()}, Python "
        f"{platform.python_version()}), horizon {HORIZON} days\n"
    )
    print(measures_table(results))
    print()
    gains = [r["metrics"]["model"]["roc_auc"] - r["metrics"]["recency"]["roc_auc"] for r in results]
    print(f"ROC AUC gain over recency alone: min {min(gains):+.4f}, mean {np.mean(gains):+.4f}\n")
    print("| data | order lines | evaluate_churn wall time (s) |")
    print("|---|---:|---:|")
    for r in results:
        print(f"| {r['name']} | {r['lines']:,} | {r['seconds']:.1f} |")
    print()
    for r in results[:1]:
        print(calibration_table(r))
        print()
    if len(results) > 1:
        print(calibration_table(results[-1]))


if __name__ == "__main__":
    main()
