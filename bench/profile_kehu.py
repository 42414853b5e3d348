"""Where does ``kehu classify`` spend its time?  Phase by phase, in one process.

    python bench/profile_kehu.py bench/data/10M

Runs the steps of :func:`kehu.services.analysis.classify_files` one by one,
forcing each to execute (DuckDB is lazy), and prints wall time and the
process's resident memory after each: import, feature table (cached), each
rule classifier's fit, the final transform written to Parquet.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import measure  # noqa: E402


def main(folder: str) -> None:
    import os

    t0 = time.perf_counter()
    from kehu.analytics import classify as clf
    from kehu.analytics.features import customer_features
    from kehu.analytics.rfm import default_as_of
    from kehu.config import Settings
    from kehu.services.analysis import load

    files = sorted(str(p) for p in Path(folder).glob("part-*.parquet"))
    last = [t0]

    def step(name: str) -> None:
        now = time.perf_counter()
        rss = measure.tree_rss(os.getpid()) / 1e9
        print(f"{name:<28} {now - last[0]:7.2f} s   RSS {rss:5.2f} GB", flush=True)
        last[0] = now

    step("imports")
    settings = Settings()
    imported = load(files, settings=settings, materialize=False)
    step("import (lazy)")
    n = imported.orders.count().execute()
    step(f"import: count {n:,} rows")
    day = default_as_of(imported.orders)
    step("default as_of")
    features = customer_features(
        imported.orders, products=imported.products, customers=imported.customers, as_of=day
    ).cache()
    step("features (cached)")
    table = features
    for name in clf.RULE_CLASSIFIERS:
        c = clf.build(name).fit(features)
        table = c.transform(table)
        step(f"fit {name}")
    out = Path(tempfile.mkdtemp()) / "kehu.parquet"
    table.to_parquet(out)
    step("transform + write parquet")
    print(f"total {time.perf_counter() - t0:.2f} s, peak tree RSS see /usr/bin/time")


if __name__ == "__main__":
    main(sys.argv[1])
