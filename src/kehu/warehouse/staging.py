"""Staging an import: files read raw, columns matched, the row rules applied, duplicates found.

Each kind ends as a :class:`_Staged` table with the final reason of every row; the pass
that counts the rows per file and reason (:func:`_count`) also checks the id columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from kehu.analytics.schema import CUSTOMER_COLUMNS, ORDER_COLUMNS, PRODUCT_COLUMNS
from kehu.exceptions import SchemaError
from kehu.warehouse import tables
from kehu.warehouse.cells import untidy_checks
from kehu.warehouse.headers import (
    ORDER_CUSTOMER_ATTRS,
    ORDER_PRODUCT_ATTRS,
    REQUIRED,
    match_columns,
    missing_message,
)
from kehu.warehouse.options import ImportOptions
from kehu.warehouse.readers import PathArg, RawSource, drop_raw, expand_paths, read_raw
from kehu.warehouse.rules import FILE_BITS, TEXT_FIELDS, stage_entities, stage_orders

Progress = Callable[[str, int, int], None]


@dataclass
class _Staged:
    """Staged rows of one kind with the final reason per row, before writing."""

    kind: str
    sources: list[RawSource]
    matches: list[dict[str, str]]
    final: ir.Table  # canonical columns + __file, __row, __reason, __column, __value ...
    temps: list[str]
    counts: list[dict[str, Any]] | None = None  # rows of :func:`_count` over ``final``


@ibis.udf.scalar.builtin(name="hash")
def _row_hash(value) -> dt.uint64:
    """DuckDB's 64-bit hash, unsigned as it is (Ibis's ``hash()`` adds two casts per row)."""


def _read_all(con: Any, paths: PathArg, options: ImportOptions, progress: Progress, kind: str):
    files = expand_paths(paths)
    sources: list[RawSource] = []
    try:
        for i, f in enumerate(files):
            progress(f"read {kind}", i, len(files))
            sources.append(read_raw(con, f, encoding=options.encoding, sheet=options.sheet))
        progress(f"read {kind}", len(files), len(files))
    except BaseException:
        for s in sources:
            drop_raw(con, s)
        raise
    return sources


def _file_name(index: ir.IntegerValue, sources: Sequence[RawSource]) -> ir.StringValue:
    return ibis.cases(
        *[(index == i, ibis.literal(str(s.path))) for i, s in enumerate(sources)],
        else_=ibis.null("string"),
    )


def _dropping_sources_on_error(stage):
    """Decorate a staging step so that a failure drops the raw tables it was given."""

    def wrapped(con, sources, *args):
        try:
            return stage(con, sources, *args)
        except BaseException:
            for s in sources:
                drop_raw(con, s)
            raise

    wrapped.__doc__ = stage.__doc__
    return wrapped


@_dropping_sources_on_error
def _stage_orders(con, sources, options) -> _Staged:
    matches = [match_columns(s.columns, "orders", options.mapping) for s in sources]
    for s, m in zip(sources, matches, strict=True):
        missing = [f for f in REQUIRED["orders"] if f not in m]
        if "amount" not in m and not ("price" in m and "quantity" in m):
            missing.append("amount")
        if missing:
            raise SchemaError(
                missing_message(f"orders file {s.path}", "orders", missing, s.columns)
            )
    attrs = [a for a in ORDER_CUSTOMER_ATTRS + ORDER_PRODUCT_ATTRS if any(a in m for m in matches)]
    temps: list[str] = []
    lazy = all(s.kind == "parquet" for s in sources)
    texts = [f for f in (*TEXT_FIELDS, *attrs) if any(f in m for m in matches)]
    # Parquet is read again by every later step, so its text columns are first
    # taken as they are, and the pass that counts the rows checks them for values
    # to trim (then they are staged again, trimmed).  Text files are parsed once
    # into a table, so they are simply trimmed then.
    tidy = [{m[f] for f in texts if f in m} if lazy else set() for m in matches]
    key = [*ORDER_COLUMNS, *attrs]  # what makes two lines the same
    staged = _stage_rows(con, sources, matches, options, attrs, key, tidy, temps)
    counts, untidy = _count(staged, "orders", texts if lazy else ())
    if untidy:
        for i, m in enumerate(matches):
            tidy[i] -= {m[f] for f in untidy.get(i, ()) if f in m}
        staged = _stage_rows(con, sources, matches, options, attrs, key, tidy, temps)
        counts, _ = _count(staged, "orders")
    dup = None
    if options.duplicates != "keep":
        dup = _duplicates(con, staged, key, options, temps)
    if dup is not None:
        staged = staged.left_join(dup, staged.__seq == dup.__dseq).drop("__dseq")
    else:
        staged = staged.mutate(__dfirst=ibis.null("int64"))
    is_dup = staged.__dfirst.notnull()
    mask = (1 << FILE_BITS) - 1
    first_file = _file_name((staged.__dfirst // (1 << FILE_BITS)).cast("int32"), sources)
    dup_value = (
        ibis.literal("duplicate of ")
        + first_file
        + ibis.literal(" row ")
        + (staged.__dfirst & mask).cast("string")
    )
    final = staged.mutate(
        __reason=ibis.cases(
            (staged.__reject.notnull(), staged.__reject),
            (is_dup, ibis.literal("duplicate")),
            else_=staged.__rule,
        ),
        __column=ibis.cases(
            (staged.__reject.notnull(), staged.__rcol),
            (is_dup, ibis.null("string")),
            else_=staged.__scol,
        ),
        __value=ibis.cases(
            (staged.__reject.notnull(), staged.__rval),
            (is_dup, dup_value),
            else_=staged.__sval,
        ),
    )
    temps.append(tables.view(con, "__kehu_final", final))
    final = con.table(temps[-1])
    if dup is not None:  # rows moved to "duplicate": count again (rare)
        counts, _ = _count(final, "orders")
    return _Staged("orders", sources, matches, final, temps, counts)


def _stage_rows(con, sources, matches, options, attrs, key, tidy, temps) -> ir.Table:
    """The rules applied to every file (:func:`stage_orders`) as one table or view.

    Adds ``__h``, the hash of the ``key`` columns (unless duplicates are kept),
    and ``__reason``, the first reject or set-aside reason before duplicates
    are looked for.
    """

    def step(expr: ir.Table) -> ir.Table:
        temps.append(tables.view(con, "__kehu_step", expr))
        return con.table(temps[-1])

    parts = [
        stage_orders(con.table(s.name), m, i, options, attrs, step, tidy[i])
        for i, (s, m) in enumerate(zip(sources, matches, strict=True))
    ]
    staged = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    if options.duplicates != "keep":  # hashed in the same pass that applies the rules
        staged = staged.mutate(__h=_row_hash(ibis.struct({k: staged[k] for k in key})))
    # Optional columns no file has are all NULL: not stored, added back below.
    absent = [c for c in ("status", "channel", "store_id") if not any(c in m for m in matches)]
    staged = staged.drop(*absent)
    if all(s.kind == "parquet" for s in sources):
        # Parquet is typed and columnar: each later step re-reads only the
        # columns it needs, which costs less than copying every column once.
        temps.append(tables.view(con, "__kehu_staged", staged))
    else:
        # Text (CSV, Excel) is parsed once, into a typed temporary table (DuckDB
        # spills it to disk beyond its memory limit) that every later step reads.
        temps.append(tables.build(con, "__kehu_staged", staged, temp=True))
    staged = con.table(temps[-1])
    if absent:
        staged = staged.mutate(**{c: ibis.null("string") for c in absent})
    return staged.mutate(__reason=staged.__reject.fill_null(staged.__rule))


def _duplicates(con, staged: ir.Table, key: list[str], options, temps: list[str]):
    """Rows that repeat an earlier row exactly: ``(__dseq, __dfirst)``, or ``None``.

    Grouping 10^8 rows by a dozen columns is what ran out of memory; one 64-bit
    hash of those columns is cheap to sort, and only the rows whose hash repeats
    (a few, plus rare collisions) are then compared column by column.
    """
    cand = staged.filter(staged.__reject.isnull())
    if options.duplicates == "auto":  # without an order id, equal lines may be real
        cand = cand.filter(cand.order_id.notnull())
    # Sorting the hashes and comparing neighbours finds the repeated ones at
    # about half the cost of a hash table of 10^7 distinct hashes.
    h = cand.select("__h")
    h = h.mutate(__prev=h.__h.lag().over(order_by=h.__h))
    repeated = h.filter(h.__h == h.__prev).select("__h").distinct()
    temps.append(tables.build(con, "__kehu_duphash", repeated, temp=True))
    repeated = con.table(temps[-1])
    if repeated.count().to_pyarrow().as_py() == 0:  # the usual case: no second pass
        return None
    rows = cand.semi_join(repeated, "__h")
    temps.append(tables.build(con, "__kehu_duprows", rows.drop("__h"), temp=True))
    rows = con.table(temps[-1])
    groups = (
        rows.group_by(key)
        .aggregate(__n=rows.count(), __first=rows.__seq.min())
        .filter(lambda g: g.__n > 1)
    )
    pairs = rows.join(groups, [rows[k].identical_to(groups[k]) for k in key])
    pairs = pairs.filter(pairs.__seq != pairs.__first).select(
        __dseq=pairs.__seq, __dfirst=pairs.__first
    )
    temps.append(tables.build(con, "__kehu_dups", pairs, temp=True))
    return con.table(temps[-1])


@_dropping_sources_on_error
def _stage_entities(con, sources, options, kind) -> _Staged:
    id_field = "customer_id" if kind == "customers" else "product_id"
    columns = CUSTOMER_COLUMNS if kind == "customers" else PRODUCT_COLUMNS
    mapping = _mapping_for(options.mapping, kind)
    matches = [match_columns(s.columns, kind, mapping) for s in sources]
    for s, m in zip(sources, matches, strict=True):
        if id_field not in m:
            raise SchemaError(missing_message(f"{kind} file {s.path}", kind, [id_field], s.columns))
    present = [c for c in columns if any(c in m for m in matches)]
    parts = [
        stage_entities(con.table(s.name), m, i, id_field, present)
        for i, (s, m) in enumerate(zip(sources, matches, strict=True))
    ]
    staged = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    # Entity files are small (one row per customer or product): a window is fine.
    rank = ibis.row_number().over(group_by=staged[id_field], order_by=staged.__seq)
    staged = staged.mutate(__rank=rank)
    is_dup = staged.__reject.isnull() & (staged.__rank > 0)
    final = staged.mutate(
        __reason=ibis.cases(
            (staged.__reject.notnull(), staged.__reject),
            (is_dup, ibis.literal("duplicate_id")),
            else_=ibis.null("string"),
        ),
        __column=ibis.cases(
            (staged.__reject.notnull(), staged.__rcol),
            (is_dup, ibis.literal(matches[0][id_field] if len(matches) == 1 else id_field)),
            else_=ibis.null("string"),
        ),
        __value=ibis.cases(
            (staged.__reject.notnull(), staged.__rval),
            (is_dup, staged[id_field]),
            else_=ibis.null("string"),
        ),
        is_return=ibis.literal(False),
    )
    temps = [tables.view(con, f"__kehu_{kind}", final)]
    return _Staged(kind, sources, matches, con.table(temps[0]), temps)


def _mapping_for(mapping: dict[str, str], kind: str) -> dict[str, str]:
    """The part of a shared mapping that applies to a customers or products file."""
    from kehu.warehouse.headers import FIELDS

    prefix = "customer" if kind == "customers" else "product"
    out = {}
    for key, header in mapping.items():
        k = key.strip().lower()
        if k in (f"{prefix}.name", f"{prefix}_name"):
            out["name"] = header
        elif k in FIELDS[kind] and k != "name":
            out[k] = header
    return out


def _count(
    f: ir.Table, kind: str, check: Sequence[str] = ()
) -> tuple[list[dict[str, Any]], dict[int, set[str]]]:
    """One pass over ``f``: rows per file and reason with what the summary reports.

    Also checks the text columns ``check`` for empty or untrimmed values;
    returns the rows and, per file index, the columns that hold such values.
    """
    orders = kind == "orders"
    checks = untidy_checks(f, check)
    rows = (
        f.group_by(["__file", "__reason"])
        .aggregate(
            n=f.count(),
            ret=f.is_return.cast("int64").sum(),
            nocust=(
                f.customer_id.isnull().cast("int64").sum() if orders else ibis.literal(0, "int64")
            ),
            np=f.__np.cast("int64").sum(),
            zp=f.__zp.cast("int64").sum(),
            first=f.order_time.min() if orders else ibis.null("timestamp"),
            last=f.order_time.max() if orders else ibis.null("timestamp"),
            **{f"__untidy{i}": c for i, c in enumerate(checks.values())},
        )
        .to_pyarrow()
        .to_pylist()
    )
    untidy: dict[int, set[str]] = {}
    for r in rows:
        for i, col in enumerate(checks):
            if r.pop(f"__untidy{i}"):
                untidy.setdefault(r["__file"], set()).add(col)
    return rows, untidy
