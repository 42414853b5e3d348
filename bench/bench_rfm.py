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
(b) the same job as hand-written DuckDB SQL (:mod:`same_work_sql`): the same
    import rules, duplicates, features and seven classifiers, the same table;
(c) one hand-written DuckDB SQL query for the RFM contract and rfm8 only (the
    same rank formula as ``kehu/analytics/rfm.py``, mean thresholds), with
    no import rules beyond "a negative amount is a return";
(d) that RFM + rfm8 in pandas, reading the Parquet files;
(e) like for like, the engine code alone: kehu's ``rfm_summary`` + ``RFM8``
    (Python API) over an already-imported canonical ``orders`` table in a
    DuckDB file, against (f) the hand-written query of (c) over that same
    table.  The table is built before the timed runs (not timed): the files'
    columns plus ``is_return = amount < 0``, which is what kehu's importer
    keeps for these files (no rejects, duplicates or fee lines).

The script checks that (a) and (b) agree in every column and that all agree
per customer in the RFM columns and rfm8 (asserted at 1M rows, reported at
larger sizes).  pandas is skipped at 100M by default: it needs the whole table
in memory (``--pandas`` forces it).  Results are added to the RFM section of
``bench/README.md`` (``--no-readme`` to only print them).
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
import same_work_pandas  # noqa: E402
import same_work_sql  # noqa: E402
from generate import generate, parse_rows  # noqa: E402

#: rfm8 labels by (M high, R high, F high), as in kehu.analytics.classify.rfm8
RFM8 = {key: zh for key, (zh, _) in same_work_sql.RFM8.items()}
README_SECTION = "## RFM and the rule classifiers"
KEHU = "kehu classify"
SAME_SQL = "DuckDB SQL, same work"
SAME_PANDAS = "pandas, same work"
RFM_SQL = "DuckDB SQL, RFM + rfm8 only"
PANDAS = "pandas, RFM + rfm8 only"
Result = measure.Measurement | str  # a measured run, or why there is none
#: ratio columns of the report: heading -> the row each time is divided by
REFERENCES = {
    "same-work SQL": SAME_SQL,
    "same-work pandas": SAME_PANDAS,
    "RFM-only SQL": RFM_SQL,
    "RFM-only pandas": PANDAS,
}
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


def compare(outputs: dict[str, Path], columns: tuple[str, ...] | None = None) -> str:
    """Assert that every output has the same per-customer values; return a summary.

    ``columns`` defaults to every column of the last output.  Floating-point
    columns agree to a relative 1e-9; dates and missing values compare as text.
    """
    import numpy as np
    import pandas as pd

    names = list(outputs)
    if columns is None:
        last = pd.read_parquet(outputs[names[-1]])
        columns = tuple(c for c in last.columns if c != "customer_id")
    frames = {
        k: pd.read_parquet(p, columns=["customer_id", *columns])
        .sort_values("customer_id", ignore_index=True)
        .astype({"customer_id": str})
        for k, p in outputs.items()
    }
    base = frames[names[0]]
    for name in names[1:]:
        other = frames[name]
        assert len(base) == len(other), f"{names[0]}: {len(base)} customers, {name}: {len(other)}"
        assert (base.customer_id.to_numpy() == other.customer_id.to_numpy()).all(), name
        for col in columns:
            a, b = base[col], other[col]
            if a.dtype.kind == "f" or b.dtype.kind == "f":
                same = np.isclose(
                    a.astype(float), b.astype(float), rtol=1e-9, atol=1e-9, equal_nan=True
                )
            else:
                same = _text(a) == _text(b)
            bad = np.flatnonzero(~same)
            assert not len(bad), (
                f"{col} differs between {names[0]} and {name} for {len(bad)} customers, "
                f"e.g. {base.customer_id[bad[0]]}: {a.iloc[bad[0]]} vs {b.iloc[bad[0]]}"
            )
    return f"{len(base):,} customers identical in {', '.join(columns)} across {', '.join(names)}"


def _text(col) -> object:
    """Values as text, every kind of missing value as the same text."""
    import numpy as np

    values = col.to_numpy(dtype=object)
    return np.where(col.isna().to_numpy(), "<missing>", values.astype(str))


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


def table(rows_label: str, results: dict[str, Result], checks: str, repeat: int) -> str:
    heads, refs = list(REFERENCES), list(REFERENCES.values())
    runs = f"the median of {repeat} runs (taken in turn)" if repeat > 1 else "one run each"
    lines = [
        f"#### {rows_label} order lines, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}. {versions()}. Times: {runs}.",
        "",
        "The last two rows read the canonical table imported beforehand; the ratio in their "
        '"RFM-only SQL" column is to the last row, the same query over that table.',
        "",
        "| implementation | wall time (s) | peak RSS (GB) | "
        + " | ".join(f"time vs {h}" for h in heads)
        + " | memory vs same-work SQL |",
        "|---|---:|---:|" + "---:|" * (len(heads) + 1),
    ]

    def ratio(a: measure.Measurement, b: object, attr: str = "wall_seconds") -> str:
        return f"{getattr(a, attr) / getattr(b, attr):.2f}x" if _ok(b) else ""

    for name, m in results.items():
        if isinstance(m, str):
            lines.append(f"| {name} | {m} |" + " |" * (len(heads) + 2))
            continue
        if name in (TABLE_SQL, TABLE_KEHU):  # only against the same query over that table
            cells = [ratio(m, results.get(TABLE_SQL)) if ref == RFM_SQL else "" for ref in refs]
            memory = ""
        else:
            cells = [ratio(m, results.get(ref)) for ref in refs]
            memory = ratio(m, results.get(SAME_SQL), "peak_rss_bytes")
        lines.append(
            f"| {name} | {m.wall_seconds:.1f} | {m.peak_rss_gb:.2f} | "
            + " | ".join(cells)
            + f" | {memory} |"
        )
    lines += ["", checks, ""]
    return "\n".join(lines)


def add_to_readme(readme: Path, report: str) -> None:
    """Insert ``report`` at the end of the Results part of the README's RFM section."""
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    start = text.find(README_SECTION)
    if start < 0:
        text = text.rstrip("\n") + f"\n\n{README_SECTION}\n\n### Results\n\n{report}"
    else:
        results = text.find("\n### Results", start)
        section_end = text.find("\n## ", start + len(README_SECTION))
        section_end = len(text) if section_end < 0 else section_end
        if results < 0 or results > section_end:  # no Results part: the end of the section
            end = section_end
        else:
            end = text.find("\n### ", results + 1)
            end = section_end if end < 0 or end > section_end else end
        text = text[:end].rstrip("\n") + "\n\n" + report.strip("\n") + "\n\n" + text[end + 1 :]
    readme.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def _ok(m: object) -> bool:
    return isinstance(m, measure.Measurement) and m.returncode == 0


WORKERS = {
    "same-work": same_work_sql.run,
    "same-work-pandas": same_work_pandas.run,
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
    ap.add_argument(
        "--repeat", type=int, help="runs of each (median reported); default 3, 1 at 100M"
    )
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
    repeat = args.repeat if args.repeat is not None else (3 if rows <= 20_000_000 else 1)

    me = [sys.executable, str(Path(__file__).resolve())]
    outputs = {
        KEHU: work / "kehu.parquet",
        SAME_SQL: work / "same.parquet",
        SAME_PANDAS: work / "same_pandas.parquet",
        RFM_SQL: work / "duckdb.parquet",
        PANDAS: work / "pandas.parquet",
        TABLE_KEHU: work / "api.parquet",
        TABLE_SQL: work / "table.parquet",
    }
    name_of = {"same-work": SAME_SQL, "same-work-pandas": SAME_PANDAS, "duckdb": RFM_SQL}
    name_of |= {"pandas": PANDAS, "kehu-api": TABLE_KEHU, "duckdb-table": TABLE_SQL}

    def worker(name: str, inputs: list[str]) -> list[str]:
        return [*me, "--worker", name, "--out", str(outputs[name_of[name]]), *inputs]

    runs = {
        KEHU: [args.kehu, "classify", *files, "--out", str(outputs[KEHU])],
        SAME_SQL: worker("same-work", files),
        SAME_PANDAS: worker("same-work-pandas", files),
        RFM_SQL: worker("duckdb", files),
        PANDAS: worker("pandas", files),
    }
    print("building the imported table for the like-for-like runs (not timed) ...", flush=True)
    db = str(canonical_db(files, work / "orders.duckdb"))
    runs[TABLE_KEHU] = worker("kehu-api", [db])
    runs[TABLE_SQL] = worker("duckdb-table", [db])
    skipped = {}
    if not use_pandas:
        skipped = dict.fromkeys((SAME_PANDAS, PANDAS), "skipped: needs the whole table in memory")
    timings: dict[str, list[measure.Measurement]] = {k: [] for k in runs if k not in skipped}
    failed: dict[str, str] = {}
    for round_ in range(repeat):  # in turn, so that a slow spell of the machine hits all alike
        for name in timings:
            if name in failed:
                continue
            print(f"running {name} ({round_ + 1}/{repeat}) ...", flush=True)
            m = measure.run(runs[name])
            print(f"  {m.wall_seconds:.1f} s, peak {m.peak_rss_gb:.2f} GB, exit {m.returncode}")
            if m.returncode != 0:
                print(m.stdout[-2000:], m.stderr[-4000:], sep="\n", file=sys.stderr)
                failed[name] = f"failed (exit {m.returncode})"
            timings[name].append(m)
    results: dict[str, Result] = {}
    for name in runs:
        if name in skipped or name in failed:
            results[name] = skipped.get(name) or failed[name]
            outputs.pop(name)
        else:
            ms = sorted(timings[name], key=lambda m: m.wall_seconds)
            results[name] = ms[len(ms) // 2]

    checks = []
    pairs = [
        ({k: outputs[k] for k in (KEHU, s) if k in outputs}, None) for s in (SAME_SQL, SAME_PANDAS)
    ]
    pairs.append((outputs, COMPARED))
    for group, columns in pairs:
        if len(group) < 2:
            continue
        try:
            checks.append("Checked: " + compare(group, columns) + ".")
        except AssertionError as exc:
            if rows <= 1_000_000:
                raise
            checks.append(f"Outputs differ: {exc}")
    check = " ".join(checks) or "Outputs not compared."
    report = table(label, results, check, repeat)
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
