"""Benchmark the churn model against its two baselines, out of time.

    python bench/bench_churn.py                 # Online Retail + simulated customers
    python bench/bench_churn.py --isotonic --seeds 3
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
  2011-06-01, test cut-off 2011-09-01 (and, with ``--isotonic``, isotonic
  calibration as well).
* Simulated customers with known churn
  (:func:`kehu.analytics.churn.simulate_churn`), several seeds, in the high
  and the low churn setting; train cut-off 2024-03-01, test cut-off
  2024-06-01.

Besides the measures, the top-decile lift of the model minus that of recency
alone with a 95% paired bootstrap interval (the test customers resampled).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kehu.analytics.churn import evaluate_churn, simulate_churn, top_decile_lift

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
    r = evaluate_churn(
        orders, train_cutoff=c1, test_cutoff=c2, horizon_days=HORIZON, return_scores=True, **kw
    )
    r["seconds"] = time.perf_counter() - t
    r["name"] = name
    r["lines"] = len(orders)
    r["lift_gain"] = lift_gain(r.pop("scores"))
    return r


def lift_gain(scores: pd.DataFrame, draws: int = 1000, seed: int = 0) -> tuple[float, ...]:
    """Top-decile lift of the model minus recency's, and a 95% paired bootstrap interval."""
    y = scores["churned"].to_numpy()
    model, recency = scores["model"].to_numpy(), scores["recency"].to_numpy()
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(draws):  # resamples, each a vectorised lift
        i = rng.integers(0, len(y), len(y))
        diffs.append(top_decile_lift(y[i], model[i]) - top_decile_lift(y[i], recency[i]))
    low, high = np.nanpercentile(diffs, [2.5, 97.5])
    return top_decile_lift(y, model) - top_decile_lift(y, recency), float(low), float(high)


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
        "--isotonic", action="store_true", help="also isotonic calibration on Online Retail"
    )
    ap.add_argument(
        "--snapshots", type=int, default=3, help="training snapshots (ChurnModel default 3)"
    )
    args = ap.parse_args()

    results = []
    kw = {"snapshots": args.snapshots}
    if RETAIL.exists():
        orders = online_retail()
        results.append(run("Online Retail", orders, "2011-06-01", "2011-09-01", **kw))
        if args.isotonic:
            results.append(
                run(
                    "Online Retail (isotonic)",
                    orders,
                    "2011-06-01",
                    "2011-09-01",
                    calibration="isotonic",
                    **kw,
                )
            )
    else:
        print(f"(Online Retail not found at {RETAIL}: skipped)")
    for churn in ("high", "low"):
        for seed in range(1, args.seeds + 1):
            orders, _ = simulate_churn(args.customers, churn=churn, seed=seed)
            name = f"simulated {churn} churn, seed {seed}"
            results.append(run(name, orders, "2024-03-01", "2024-06-01", **kw))

    print(
        f"Run of {time.strftime('%Y-%m-%d')} ({platform.machine()}, Python "
        f"{platform.python_version()}), horizon {HORIZON} days\n"
    )
    print(measures_table(results))
    print()
    gains = [r["metrics"]["model"]["roc_auc"] - r["metrics"]["recency"]["roc_auc"] for r in results]
    print(f"ROC AUC gain over recency alone: min {min(gains):+.4f}, mean {np.mean(gains):+.4f}\n")
    print("| data | lift cap 1 / churn rate | top-decile lift: model - recency | 95% bootstrap |")
    print("|---|---:|---:|---|")
    for r in results:
        gain, low, high = r["lift_gain"]
        print(
            f"| {r['name']} | {1 / r['test_churn_rate']:.2f} | {gain:+.3f} "
            f"| {low:+.3f} to {high:+.3f} |"
        )
    print()
    print("| data | order lines | training rows (all snapshots) | evaluate_churn wall time (s) |")
    print("|---|---:|---:|---:|")
    for r in results:
        print(f"| {r['name']} | {r['lines']:,} | {r['train_rows']:,} | {r['seconds']:.1f} |")
    print()
    last = {r["name"].split(",")[0]: r for r in results}  # Online Retail, last seed of each
    for r in last.values():
        print(calibration_table(r))
        print()


if __name__ == "__main__":
    main()
