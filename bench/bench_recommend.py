"""Recommendations and association rules on the real data sets.

1. Model choice on a *validation* split of Online Retail (train before
   2011-06-01, test June to August 2011), so that the test period after
   2011-09-01 is never used to choose: EASE over a range of l2, item-kNN over
   neighbours x shrinkage.
2. The chosen settings on the test split (train before 2011-09-01, test to
   the end of the data), every customer with a new product evaluated, against
   global and per-segment (rfm8 on train) popularity.
3. Fit and recommend times for every customer.
4. Association rules on Groceries: counts and times for the arules settings.

Usage::

    python bench/bench_recommend.py [--data ../shared/data] [--quick]

Prints Markdown tables (paste into bench/README.md, section "Recommendations").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from kehu.analytics.recommend import Recommender, association_rules, evaluate_split
from kehu.warehouse.options import NON_PRODUCT_CODES

#: the importer's exact non-product codes (postage, fees ...), compared case-insensitively
NON_PRODUCTS = [c for c in NON_PRODUCT_CODES if not c.endswith("*")]
METHODS = ("model", "global_popularity", "segment_popularity")


def online_retail(data: Path) -> pd.DataFrame:
    """The crude canonical mapping used in the tests (customers only, no non-product codes)."""
    raw = pd.read_parquet(data / "online_retail" / "online_retail.parquet")
    raw = raw[raw.CustomerID.notna() & ~raw.StockCode.str.upper().isin(NON_PRODUCTS)]
    return pd.DataFrame(
        {
            "customer_id": raw.CustomerID.astype("int64").astype(str),
            "order_id": raw.InvoiceNo,
            "order_time": raw.InvoiceDate,
            "product_id": raw.StockCode,
            "quantity": raw.Quantity.astype(float),
            "amount": raw.Quantity * raw.UnitPrice,
            "is_return": raw.InvoiceNo.str.startswith("C"),
        }
    )


def row(name: str, m: dict, seconds: float | None = None) -> str:
    """One Markdown table row of the @10 metrics (and the seconds when given)."""
    cells = [name, *(f"{m[x]:.4f}" for x in ("precision@10", "recall@10", "ndcg@10"))]
    cells.append(f"{m['coverage']:.3f}")
    if seconds is not None:
        cells.append(f"{seconds:.1f}")
    return "| " + " | ".join(cells) + " |"


def label(model: str, params: dict) -> str:
    return f"{model} ({', '.join(f'{a}={b:g}' for a, b in params.items())})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    ap.add_argument("--quick", action="store_true", help="fewer candidate settings")
    args = ap.parse_args()
    k = 10
    orders = online_retail(args.data)

    print("## Validation split (train < 2011-06-01, test 2011-06-01 .. 2011-08-31)\n")
    print("| model | P@10 | R@10 | NDCG@10 | coverage | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    candidates = [
        ("ease", {"l2": v})
        for v in ((200.0, 500.0) if args.quick else (50.0, 200.0, 500.0, 1000.0))
    ]
    knn = ((100, 10.0),) if args.quick else ((50, 10.0), (100, 10.0), (200, 10.0), (100, 50.0))
    candidates += [("itemknn", {"neighbours": n, "shrink": s}) for n, s in knn]
    best, best_ndcg, val = None, -1.0, None
    for model, params in candidates:
        t0 = time.perf_counter()
        res = evaluate_split(
            orders, "2011-06-01", k, test_days=92, recommender=Recommender(model=model, **params)
        )
        seconds = time.perf_counter() - t0
        print(row(label(model, params), res["model"], seconds))
        val = res
        if res["model"][f"ndcg@{k}"] > best_ndcg:
            best, best_ndcg = (model, params), res["model"][f"ndcg@{k}"]
    for base in METHODS[1:]:
        print(row(base, val[base], seconds=None) + " |")
    print(f"\nchosen by validation NDCG@10: {best}; {val['customers']} customers evaluated\n")

    print("## Test split (train < 2011-09-01, test 2011-09-01 .. 2011-12-09)\n")
    print("| method | P@10 | R@10 | NDCG@10 | coverage |")
    print("|---|---:|---:|---:|---:|")
    model, params = best
    t0 = time.perf_counter()
    res = evaluate_split(orders, "2011-09-01", k, recommender=Recommender(model=model, **params))
    seconds = time.perf_counter() - t0
    for name in METHODS:
        print(row(label(model, params) if name == "model" else name, res[name]))
    n, pairs = res["customers"], res["test_products"]
    print(f"\n{n} customers, {pairs} test pairs, evaluation {seconds:.1f} s")
    other = "itemknn" if model == "ease" else "ease"
    res2 = evaluate_split(orders, "2011-09-01", k, recommender=Recommender(model=other))
    print("\nfor reference, the other model with its defaults:\n")
    print(row(other, res2["model"]) + "\n")

    print("## Fit and recommend on all of Online Retail\n")
    t0 = time.perf_counter()
    rec = Recommender(model=model, **params).fit(orders)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = rec.recommend()
    rec_s = time.perf_counter() - t0
    print(
        f"{len(rec.customers_)} customers x {len(rec.items_)} products: fit {fit_s:.1f} s, "
        f"recommend {len(out)} rows {rec_s:.1f} s; re-buy candidates {len(rec.rebuy_candidates_)}, "
        f"due now {len(rec.rebuy())}\n"
    )

    print("## Association rules on Groceries\n")
    g = pd.read_parquet(args.data / "groceries" / "groceries_baskets_long.parquet")
    print("| min_support | min_confidence | max_len | rules | seconds |")
    print("|---:|---:|---:|---:|---:|")
    for supp, conf, ml in ((0.001, 0.5, 2), (0.001, 0.5, 3), (0.001, 0.8, 3), (0.01, 0.1, 2)):
        t0 = time.perf_counter()
        r = association_rules(g, supp, conf, ml, basket_col="basket_id", item_col="item")
        print(f"| {supp} | {conf} | {ml} | {len(r)} | {time.perf_counter() - t0:.2f} |")


if __name__ == "__main__":
    main()
