"""Benchmark ``kehu classify`` against hand-written DuckDB SQL and pandas.

    python bench/bench_rfm.py --rows 10M

On the same generated order lines (:mod:`generate`, reused from
``bench/data/<rows>/`` when present), in the same run, each implementation
runs as its own process so that wall time and peak memory are measured alike
(:mod:`measure`: wall clock of the process, peak RSS summed over its process
tree, sampled every 20 ms; Python start-up and imports included):

(a) ``kehu classify FILES --out kehu.parquet``: the CLI imports the files
    (header matching, type checks, import rules, duplicates), computes the
    per-customer features (the RFM contract and more) and all the rule
    classifiers (rfm8, segment, freq_tier, spend_tier, abc, lifecycle, grade);
(b) one hand-written DuckDB SQL query: the RFM contract with the same rank
    formula as ``kehu/analytics/rfm.py`` and the rfm8 rule (mean thresholds);
(c) the same RFM + rfm8 in pandas, reading the Parquet files;
(d) like for like, the engine code alone: kehu's ``rfm_summary`` + ``RFM8``
    (Python API) over an already-imported canonical ``orders`` table in a
    DuckDB file, against (e) the hand-written query of (b) over that same
    table.  The table is built before the timed runs (not timed): the files'
    columns plus ``is_return = amount < 0``, which is what kehu's importer
    keeps for these files (no rejects, duplicates or fee lines).

On 1M rows the script asserts that the three agree per customer (recency,
orders, monetary, scores, rfm8).  pandas is skipped at 100M by default: it
needs the whole table in memory (``--pandas`` forces it).  Results are
added to the RFM section of ``bench/README.md`` (``--no-readme`` to only print them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import measure  # noqa: E402  (the bench folder is not a package)
from generate import generate, parse_rows  # noqa: E402

#: rfm8 labels by (M high, R high, F high), as in kehu.analytics.classify.rfm8
RFM8 = {
    (True, True, True): "重要价值客户",
    (True, True, False): "重要发展客户",
    (True, False, True): "重要保持客户",
    (True, False, False): "重要挽留客户",
    (False, True, True): "一般价值客户",
    (False, True, False): "一般发展客户",
    (False, False, True): "一般保持客户",
    (False, False, False): "一般挽留客户",
}
README_SECTION = "## RFM and the rule classifiers"
#: the like-for-like pair, over the imported table (their ratios are to each other)
TABLE_KEHU = "kehu rfm_summary + RFM8 (API, imported table)"
TABLE_SQL = "DuckDB SQL (imported table)"
COMPARED = ("recency_days", "orders", "monetary", "r_score", "f_score", "m_score", "rfm8")


# --- (b) hand-written DuckDB SQL -----------------------------------------------------------


def parquet_source(files: list[str]) -> str:
    return "read_parquet([" + ", ".join(f"'{f}'" for f in files) + "])"


def duckdb_sql(source: str) -> str:
    """The RFM contract and rfm8 in one query over ``source`` (``amount < 0`` marks a return)."""
    rfm8 = " ".join(
        f"WHEN {'' if m else 'NOT '}m_high AND {'' if r else 'NOT '}r_high "
        f"AND {'' if f else 'NOT '}f_high THEN '{label}'"
        for (m, r, f), label in RFM8.items()
    )
    return f"""
    WITH src AS (SELECT customer_id, order_id, order_time, amount FROM {source}),
    cutoff AS (SELECT CAST(max(order_time) AS DATE) + 1 AS d FROM src),
    lines AS (
        SELECT customer_id, amount,
            CASE WHEN amount < 0 THEN NULL
                 ELSE coalesce(order_id, CAST(order_time AS VARCHAR)) END AS k,
            CASE WHEN amount < 0 THEN NULL ELSE CAST(order_time AS DATE) END AS pday
        FROM src, cutoff
        WHERE customer_id IS NOT NULL AND order_time < CAST(cutoff.d AS TIMESTAMP)
    ),
    g AS (
        SELECT customer_id, min(pday) AS first_purchase, max(pday) AS last_purchase,
            count(DISTINCT k) AS orders, round(sum(amount), 6) AS monetary
        FROM lines GROUP BY customer_id HAVING count(DISTINCT k) > 0
    ),
    m AS (
        SELECT customer_id, first_purchase, last_purchase,
            CAST(cutoff.d - last_purchase AS BIGINT) AS recency_days, orders, monetary,
            round(monetary / orders, 6) AS avg_order_value
        FROM g, cutoff
    ),
    ranked AS (
        SELECT *, count(*) OVER () AS n,
            rank() OVER (ORDER BY recency_days DESC) - 1 AS rr,
            rank() OVER (ORDER BY orders) - 1 AS fr,
            rank() OVER (ORDER BY monetary) - 1 AS mr,
            recency_days < avg(recency_days) OVER () AS r_high,
            orders > avg(orders) OVER () AS f_high,
            monetary > avg(monetary) OVER () AS m_high
        FROM m
    )
    SELECT customer_id, first_purchase, last_purchase, recency_days, orders, monetary,
        avg_order_value,
        least(coalesce(1 + (rr * 5) // nullif(n - 1, 0), 1), 5) AS r_score,
        least(coalesce(1 + (fr * 5) // nullif(n - 1, 0), 1), 5) AS f_score,
        least(coalesce(1 + (mr * 5) // nullif(n - 1, 0), 1), 5) AS m_score,
        CASE {rfm8} END AS rfm8
    FROM ranked
    """


def run_duckdb(files: list[str], out: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY ({duckdb_sql(parquet_source(files))}) TO '{out}' (FORMAT parquet)")


def run_duckdb_table(files: list[str], out: str) -> None:
    """(e): the hand-written query over the canonical table in the DuckDB file ``files[0]``."""
    import duckdb

    con = duckdb.connect(files[0], read_only=True)
    con.execute(f"COPY ({duckdb_sql('orders')}) TO '{out}' (FORMAT parquet)")


# --- (d) kehu's analytics alone, over the same table -------------------------------------------


def run_kehu_api(files: list[str], out: str) -> None:
    """(d): ``rfm_summary`` + ``RFM8`` (mean thresholds) over the table in ``files[0]``."""
    import duckdb
    import ibis

    from kehu.analytics.classify import RFM8
    from kehu.analytics.rfm import rfm_summary

    con = ibis.duckdb.from_connection(duckdb.connect(files[0], read_only=True))
    rfm = rfm_summary(con.table("orders"))
    # the summary is read twice (fit, then transform): compute it once
    rfm = rfm.cache()
    RFM8().fit(rfm).transform(rfm).to_parquet(out)


def canonical_db(files: list[str], path: Path) -> Path:
    """Build the ``orders`` table of (d) and (e) in a DuckDB file (before the timed runs)."""
    import duckdb

    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    con.execute("SET preserve_insertion_order = false")
    con.execute(
        "CREATE TABLE orders AS SELECT customer_id, order_id, order_time, product_id, "
        "quantity, price, amount, amount < 0 AS is_return, CAST(NULL AS VARCHAR) AS status, "
        "CAST(NULL AS VARCHAR) AS channel, CAST(NULL AS VARCHAR) AS store_id "
        f"FROM {parquet_source(files)}"
    )
    con.close()
    return path


# --- (c) pandas -------------------------------------------------------------------------------


def run_pandas(files: list[str], out: str) -> None:
    import numpy as np
    import pandas as pd

    df = pd.concat(
        [
            pd.read_parquet(f, columns=["customer_id", "order_id", "order_time", "amount"])
            for f in files
        ],
        ignore_index=True,
    )
    as_of = df.order_time.max().normalize() + pd.Timedelta(days=1)
    df = df[df.customer_id.notna() & (df.order_time < as_of)]
    ret = df.amount < 0
    key = df.order_id.fillna(df.order_time.astype(str)).where(~ret)
    pday = df.order_time.dt.normalize().where(~ret)
    lines = pd.DataFrame(
        {"customer_id": df.customer_id, "k": key, "pday": pday, "amount": df.amount}
    )
    del df, key, pday, ret
    g = lines.groupby("customer_id", sort=False).agg(
        first_purchase=("pday", "min"),
        last_purchase=("pday", "max"),
        orders=("k", "nunique"),
        monetary=("amount", "sum"),
    )
    del lines
    g = g[g.orders > 0].reset_index()
    g["recency_days"] = (as_of - g.last_purchase).dt.days.astype("int64")
    g["monetary"] = g.monetary.round(6)
    g["avg_order_value"] = (g.monetary / g.orders).round(6)
    n = len(g)

    def score(values: pd.Series, ascending: bool) -> np.ndarray:
        rank = values.rank(method="min", ascending=ascending).to_numpy("int64") - 1
        if n <= 1:
            return np.ones(n, dtype="int64")
        return np.minimum(1 + (rank * 5) // (n - 1), 5)

    g["r_score"] = score(g.recency_days, ascending=False)
    g["f_score"] = score(g.orders, ascending=True)
    g["m_score"] = score(g.monetary, ascending=True)
    r_high = g.recency_days < g.recency_days.mean()
    f_high = g.orders > g.orders.mean()
    m_high = g.monetary > g.monetary.mean()
    labels = np.empty(n, dtype=object)
    for (m, r, f), label in RFM8.items():
        labels[((m_high == m) & (r_high == r) & (f_high == f)).to_numpy()] = label
    g["rfm8"] = labels
    g.to_parquet(out, index=False)


# --- comparing and reporting --------------------------------------------------------------------


def compare(outputs: dict[str, Path]) -> str:
    """Assert that every output has the same per-customer numbers; return a summary."""
    import numpy as np
    import pandas as pd

    frames = {
        k: pd.read_parquet(p, columns=["customer_id", *COMPARED])
        .sort_values("customer_id", ignore_index=True)
        .astype({"customer_id": str})
        for k, p in outputs.items()
    }
    names = list(frames)
    base = frames[names[0]]
    for name in names[1:]:
        other = frames[name]
        assert len(base) == len(other), f"{names[0]}: {len(base)} customers, {name}: {len(other)}"
        assert (base.customer_id.to_numpy() == other.customer_id.to_numpy()).all(), name
        for col in COMPARED:
            a, b = base[col].to_numpy(), other[col].to_numpy()
            if col == "monetary":
                same = np.isclose(a.astype(float), b.astype(float), rtol=1e-9, atol=1e-9)
            else:
                same = a.astype(str) == b.astype(str)
            bad = np.flatnonzero(~same)
            assert not len(bad), (
                f"{col} differs between {names[0]} and {name} for {len(bad)} customers, "
                f"e.g. {base.customer_id[bad[0]]}: {a[bad[0]]} vs {b[bad[0]]}"
            )
    return f"{len(base):,} customers identical in {', '.join(COMPARED)} across {', '.join(names)}"


def versions() -> str:
    import duckdb
    import ibis
    import pandas as pd
    import pyarrow as pa

    try:
        rev = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "?"
    return (
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"ibis {ibis.__version__}, pandas {pd.__version__}, pyarrow {pa.__version__}, "
        f"kehu at {rev}"
    )


def machine() -> str:
    cores = os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{cores} cores, {mem:.0f} GB RAM, {platform.system()} {platform.machine()}"


def table(rows_label: str, results: dict[str, measure.Measurement | str], check: str) -> str:
    base = results.get("DuckDB SQL")
    pandas = results.get("pandas")
    lines = [
        f"#### {rows_label} order lines, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}. {versions()}.",
        "",
        'Rows 4 and 5 read the canonical table imported beforehand; their ratios "vs DuckDB '
        'SQL" are to row 5, the hand-written query over that table.',
        "",
        "| implementation | wall time (s) | peak RSS (GB) | time vs DuckDB SQL | "
        "time vs pandas | memory vs DuckDB SQL |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, m in results.items():
        if isinstance(m, str):
            lines.append(f"| {name} | {m} | | | | |")
            continue
        # the runs over the imported table are compared with the SQL over that table
        ref = results.get(TABLE_SQL) if name in (TABLE_SQL, TABLE_KEHU) else base
        vs_sql = f"{m.wall_seconds / ref.wall_seconds:.2f}x" if _ok(ref) else ""
        vs_pd = f"{m.wall_seconds / pandas.wall_seconds:.2f}x" if _ok(pandas) else ""
        mem_sql = f"{m.peak_rss_bytes / ref.peak_rss_bytes:.2f}x" if _ok(ref) else ""
        lines.append(
            f"| {name} | {m.wall_seconds:.1f} | {m.peak_rss_gb:.2f} | {vs_sql} | {vs_pd} | "
            f"{mem_sql} |"
        )
    lines += ["", check, ""]
    return "\n".join(lines)


def add_to_readme(readme: Path, report: str) -> None:
    """Insert ``report`` at the end of the README's RFM section (other benchmarks follow it)."""
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    start = text.find(README_SECTION)
    if start < 0:
        text = text.rstrip("\n") + f"\n\n{README_SECTION}\n\n{report}"
    else:
        end = text.find("\n## ", start + len(README_SECTION))
        end = len(text) if end < 0 else end + 1
        text = text[:end].rstrip("\n") + "\n\n" + report.strip("\n") + "\n\n" + text[end:]
    readme.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def _ok(m: object) -> bool:
    return isinstance(m, measure.Measurement) and m.returncode == 0


WORKERS = {
    "duckdb": run_duckdb,
    "pandas": run_pandas,
    "duckdb-table": run_duckdb_table,
    "kehu-api": run_kehu_api,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1M", help="1M, 10M, 100M or a number")
    ap.add_argument("--data", type=Path, help="folder of part-*.parquet (default bench/data/ROWS)")
    ap.add_argument("--work", type=Path, help="folder for the outputs (default a temp folder)")
    ap.add_argument("--pandas", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--kehu", default=str(Path(sys.executable).with_name("kehu")))
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:  # one implementation, in its own measured process
        WORKERS[args.worker](args.files, args.out)
        return 0

    rows = parse_rows(args.rows)
    label = args.rows.upper()
    data = args.data or HERE / "data" / label
    files = sorted(str(p) for p in data.glob("part-*.parquet"))
    if not files:
        print(f"generating {rows:,} rows into {data} ...", flush=True)
        files = [str(p) for p in generate(rows, data)]
    work = args.work or Path(tempfile.mkdtemp(prefix=f"kehu-bench-{label}-"))
    work.mkdir(parents=True, exist_ok=True)
    use_pandas = args.pandas if args.pandas is not None else rows <= 20_000_000

    me = [sys.executable, str(Path(__file__).resolve())]
    runs = {
        "kehu classify": [args.kehu, "classify", *files, "--out", str(work / "kehu.parquet")],
        "DuckDB SQL": [*me, "--worker", "duckdb", "--out", str(work / "duckdb.parquet"), *files],
        "pandas": [*me, "--worker", "pandas", "--out", str(work / "pandas.parquet"), *files],
    }
    print("building the imported table for the like-for-like runs (not timed) ...", flush=True)
    db = str(canonical_db(files, work / "orders.duckdb"))
    runs[TABLE_KEHU] = [*me, "--worker", "kehu-api", "--out", str(work / "api.parquet"), db]
    runs[TABLE_SQL] = [*me, "--worker", "duckdb-table", "--out", str(work / "table.parquet"), db]
    outputs = {
        "kehu classify": work / "kehu.parquet",
        "DuckDB SQL": work / "duckdb.parquet",
        "pandas": work / "pandas.parquet",
        TABLE_KEHU: work / "api.parquet",
        TABLE_SQL: work / "table.parquet",
    }
    results: dict[str, measure.Measurement | str] = {}
    for name, cmd in runs.items():
        if name == "pandas" and not use_pandas:
            results[name] = "skipped: needs the whole table in memory"
            outputs.pop(name)
            continue
        print(f"running {name} ...", flush=True)
        m = measure.run(cmd)
        results[name] = m
        print(f"  {m.wall_seconds:.1f} s, peak {m.peak_rss_gb:.2f} GB, exit {m.returncode}")
        if m.returncode != 0:
            print(m.stdout[-2000:], m.stderr[-4000:], sep="\n", file=sys.stderr)
            results[name] = f"failed (exit {m.returncode})"
            outputs.pop(name)

    check = "Outputs not compared."
    if rows <= 1_000_000 and len(outputs) == len(runs):
        check = "Checked: " + compare(outputs) + "."
    elif len(outputs) >= 2:
        try:
            check = "Checked: " + compare(outputs) + "."
        except AssertionError as exc:
            check = f"Outputs differ: {exc}"
    report = table(label, results, check)
    print(report)
    if not args.no_readme:
        add_to_readme(HERE / "README.md", report)
    return (
        0
        if all(isinstance(m, measure.Measurement) or "skipped" in m for m in results.values())
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
