"""Import order lines, customers and products into DuckDB through Ibis.

Row numbers in the rejects table follow Excel: the header is row 1, so the
first data row of a file is row 2 (see :mod:`kehu.warehouse.readers`).

Each order line gets at most one reason, the first that applies in this order:

1. rejected -- ``bad_date``, ``bad_amount``, ``bad_quantity``, ``bad_price``,
   ``too_long``: unreadable, or beyond the bounds of :mod:`kehu.warehouse.rules`;
2. ``duplicate`` -- an exact copy of an earlier line (same values in every
   recognised column, across all files of the import; the first is kept).  With
   ``duplicates="auto"`` only lines with an order id are compared;
3. ``non_product`` (postage, fees ...) and then ``zero_price``, when excluded;
4. ``return``, when returns are excluded (by default they are kept, netted).

Duplicates are found by a 64-bit hash of every column, computed in the pass
that applies the rules: the hashes are sorted and compared with their
neighbours, and only rows whose hash repeats are compared column by column.

Tables written (all swapped in together, in one transaction): ``orders`` and
``import_rejects`` (unless ``materialize=False``), and ``customers`` /
``products`` when there is anything to put in them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from kehu.analytics.schema import CUSTOMER_COLUMNS, ORDER_COLUMNS, PRODUCT_COLUMNS
from kehu.exceptions import SchemaError
from kehu.warehouse import tables
from kehu.warehouse.cells import untidy_checks
from kehu.warehouse.connect import connect
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
from kehu.warehouse.summary import FileSummary, ImportSummary

Progress = Callable[[str, int, int], None]

ORDER_TYPES = {
    "customer_id": "string",
    "order_id": "string",
    "order_time": "timestamp(6)",  # what DuckDB reports for a stored TIMESTAMP
    "product_id": "string",
    "quantity": "float64",
    "price": "float64",
    "amount": "float64",
    "is_return": "boolean",
    "status": "string",
    "channel": "string",
    "store_id": "string",
}
REJECT_COLUMNS = ("file", "row", "column", "reason", "value")
#: Order-line attribute -> customer/product field it fills.
CUSTOMER_FROM_ORDERS = {
    **{a: a for a in ORDER_CUSTOMER_ATTRS},
    "customer_name": "name",
    "channel": "channel",
}
PRODUCT_FROM_ORDERS = {"product_name": "name", "category": "category", "brand": "brand"}


@dataclass
class ImportResult:
    """What an import produced.

    Attributes
    ----------
    orders, customers, products
        Ibis tables (``None`` when there is nothing of that kind).
    summary
        :class:`ImportSummary` of the main import; ``summary.others`` holds the
        summaries of separate customer/product files.
    rejects
        Ibis table ``file, row, column, reason, value``: one row per rejected or
        set-aside source row (``row`` as in Excel: the first data row is 2).
    keyed_rejects
        With ``import_orders(..., keyed_rejects=True)``: the same rows with
        ``kind`` (orders, customers, products), ``key`` (the order id, or the
        customer or product id) and, for order lines, ``customer_id`` and
        ``order_time`` -- what a caller storing whole orders needs to leave out
        every order that lost a line.
    """

    orders: ir.Table | None
    customers: ir.Table | None
    products: ir.Table | None
    summary: ImportSummary
    rejects: ir.Table
    con: Any = field(repr=False, default=None)
    keyed_rejects: ir.Table | None = field(repr=False, default=None)

    def write_rejects(self, path: str | Path) -> Path:
        """Write the rejects to CSV (UTF-8 with BOM, so Excel reads Chinese), atomically."""
        import pyarrow.csv as pcsv

        out = Path(path)
        data = self.rejects.order_by(["file", "row"]).to_pyarrow()
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent or ".")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write("\ufeff".encode())
                pcsv.write_csv(data, fh)
            os.replace(tmp, out)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return out


@dataclass
class _Staged:
    """Staged rows of one kind with the final reason per row, before writing."""

    kind: str
    sources: list[RawSource]
    matches: list[dict[str, str]]
    final: ir.Table  # canonical columns + __file, __row, __reason, __column, __value ...
    temps: list[str]
    counts: list[dict[str, Any]] | None = None  # rows of :func:`_count` over ``final``


def _noop(step: str, done: int, total: int) -> None:
    return None


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


def _rejects_expr(st: _Staged, keyed: bool = False) -> ir.Table:
    f = st.final
    f = f.filter(f.__reason.notnull())
    cols: dict[str, ir.Value] = {}
    if keyed:
        lines = st.kind == "orders"
        id_field = {"orders": "order_id", "customers": "customer_id"}.get(st.kind, "product_id")
        cols = {
            "kind": ibis.literal(st.kind),
            "key": f[id_field].cast("string"),
            "customer_id": f.customer_id if lines else ibis.null("string"),
            "order_time": f.order_time.cast("timestamp") if lines else ibis.null("timestamp"),
        }
    return f.select(
        **cols,
        file=_file_name(f.__file, st.sources),
        row=f.__row,
        column=f.__column,
        reason=f.__reason,
        value=f.__value,
    )


def _kept(st: _Staged) -> ir.Table:
    return st.final.filter(st.final.__reason.isnull())


def _orders_expr(st: _Staged, summary: ImportSummary) -> ir.Table:
    # When the summary shows that every row was kept, the filter is left out:
    # each later read of lazy orders then skips the rule tests it depends on.
    kept = st.final if summary.rows_kept == summary.rows_read else _kept(st)
    return kept.select(**{c: kept[c].cast(t) for c, t in ORDER_TYPES.items()})


def _entities_expr(st: _Staged) -> ir.Table:
    kept = _kept(st)
    cols = CUSTOMER_COLUMNS if st.kind == "customers" else PRODUCT_COLUMNS
    return kept.select([c for c in cols if c in kept.columns])


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


def _summarise(st: _Staged, options: ImportOptions) -> ImportSummary:
    counts = st.counts if st.counts is not None else _count(st.final, st.kind)[0]
    files = [
        FileSummary(str(s.path), s.kind, 0, 0, {}, dict(m), s.encoding)
        for s, m in zip(st.sources, st.matches, strict=True)
    ]
    kept: dict[str, int] = {}
    set_aside: dict[str, int] = {}
    stamps: list[Any] = []
    for r in counts:
        fs = files[r["__file"]]
        fs.rows_read += r["n"]
        if r["__reason"] is None:
            fs.rows_kept += r["n"]
            stamps += [t for t in (r["first"], r["last"]) if t is not None]
            if st.kind == "orders":
                for key, col in (("return", "ret"), ("no_customer", "nocust")):
                    kept[key] = kept.get(key, 0) + int(r[col] or 0)
                if options.non_product == "keep":
                    kept["non_product"] = kept.get("non_product", 0) + int(r["np"] or 0)
                if options.zero_price == "keep":
                    kept["zero_price"] = kept.get("zero_price", 0) + int(r["zp"] or 0)
        else:
            fs.set_aside[r["__reason"]] = fs.set_aside.get(r["__reason"], 0) + r["n"]
            set_aside[r["__reason"]] = set_aside.get(r["__reason"], 0) + r["n"]
    return ImportSummary(
        kind=st.kind,
        rows_read=sum(fs.rows_read for fs in files),
        rows_kept=sum(fs.rows_kept for fs in files),
        set_aside=set_aside,
        kept=kept,
        files=files,
        first_order=min(stamps, default=None),
        last_order=max(stamps, default=None),
        options={
            "returns": options.returns,
            "non_product": options.non_product,
            "zero_price": options.zero_price,
            "duplicates": options.duplicates,
        },
    )


def _most_frequent(kept: ir.Table, key: str, attr: str, name: str) -> ir.Table:
    """Per ``key``, its most frequent non-null ``attr`` (ties: the smallest value)."""
    t = kept.filter(kept[key].notnull(), kept[attr].notnull())
    c = t.group_by([key, attr]).aggregate(__n=t.count())
    w = ibis.window(group_by=c[key], order_by=[ibis.desc(c.__n), c[attr]])
    c = c.mutate(__r=ibis.row_number().over(w))
    return c.filter(c.__r == 0).select(c[key], **{name: c[attr]})


def _derived(st: _Staged, key: str, attrs: dict[str, str]) -> ir.Table | None:
    """Customer or product attributes carried by kept order lines."""
    kept = _kept(st)
    present = {
        a: f for a, f in attrs.items() if a in kept.columns and any(a in m for m in st.matches)
    }
    if not present:
        return None
    out = kept.filter(kept[key].notnull()).select(key).distinct()
    for attr, name in present.items():
        mf = _most_frequent(kept, key, attr, name)
        out = out.left_join(mf, key).drop(f"{key}_right")
    return out


def _merge(file_t: ir.Table | None, derived: ir.Table | None, key: str, order) -> ir.Table | None:
    """File values first, order-line values where the file has none; ids from either."""
    if file_t is None or derived is None:
        return file_t if file_t is not None else derived
    d = derived.rename({f"{c}__d": c for c in derived.columns})
    j = file_t.outer_join(d, file_t[key] == d[f"{key}__d"])
    cols = {}
    for c in order:
        a = file_t[c] if c in file_t.columns else None
        b = j[f"{c}__d"] if f"{c}__d" in j.columns else None
        if a is not None and b is not None:
            cols[c] = ibis.coalesce(j[c], b)
        elif a is not None:
            cols[c] = j[c]
        elif b is not None:
            cols[c] = b
    return j.select(**cols)


def _finish(con, staged: list[_Staged], built_exprs: dict[str, ir.Table | None], progress):
    """Build every table under a temporary name, then swap them all in."""
    built: dict[str, str] = {}
    try:
        names = [n for n, e in built_exprs.items() if e is not None]
        for i, name in enumerate(names):
            progress("write", i, len(names))
            built[name] = tables.build(con, name, built_exprs[name])
        progress("write", len(names), len(names))
        tables.swap(con, built)
    except BaseException:
        tables.drop(con, *built.values())
        raise


def _cleanup(con, staged: list[_Staged]) -> None:
    for st in staged:
        tables.drop(con, *reversed(st.temps))
        for s in st.sources:
            drop_raw(con, s)


def import_orders(
    paths: PathArg,
    *,
    con: Any = None,
    options: ImportOptions | None = None,
    customers: PathArg | None = None,
    products: PathArg | None = None,
    materialize: bool = True,
    progress: Progress | None = None,
    keyed_rejects: bool = False,
) -> ImportResult:
    """Import order-line files (CSV, Excel, Parquet) into ``orders``.

    Parameters
    ----------
    paths
        A file, folder or glob, or a list of them.
    con
        Ibis DuckDB backend from :func:`connect`; default a new in-memory one.
    options
        :class:`ImportOptions` (mapping and row rules).
    customers, products
        Optional separate files; their values win over those carried by the
        order lines, which fill the gaps.
    materialize
        ``True`` writes the ``orders`` and ``import_rejects`` tables.  ``False``
        leaves both as lazy expressions over the source files (best for large
        Parquet data that is read once, valid while ``con`` is open); the
        customers and products tables are still written.
    progress
        Called as ``progress(step, done, total)``.
    keyed_rejects
        Also return the rejects with the order id (``ImportResult.keyed_rejects``,
        the table ``import_rejects_keyed``).

    Returns
    -------
    ImportResult

    Raises
    ------
    DataImportError
        A missing, empty, unreadable or unsupported file.
    SchemaError
        A file lacks a required column (the message lists the columns found and
        the accepted names).
    """
    options = options or ImportOptions()
    con = con if con is not None else connect(None)
    progress = progress or _noop
    staged: list[_Staged] = []
    try:
        st = _stage_orders(con, _read_all(con, paths, options, progress, "orders"), options)
        staged.append(st)
        extra = {}
        for kind, arg in (("customers", customers), ("products", products)):
            if arg is not None:
                sources = _read_all(con, arg, options, progress, kind)
                extra[kind] = _stage_entities(con, sources, options, kind)
                staged.append(extra[kind])
        progress("rules", 0, 1)
        summary = _summarise(st, options)
        others = {k: _summarise(s, options) for k, s in extra.items()}
        summary.others = others
        progress("rules", 1, 1)
        customers_t = _merge(
            _entities_expr(extra["customers"]) if "customers" in extra else None,
            _derived(st, "customer_id", CUSTOMER_FROM_ORDERS),
            "customer_id",
            CUSTOMER_COLUMNS,
        )
        products_t = _merge(
            _entities_expr(extra["products"]) if "products" in extra else None,
            _derived(st, "product_id", PRODUCT_FROM_ORDERS),
            "product_id",
            PRODUCT_COLUMNS,
        )
        rejects = [_rejects_expr(s) for s in staged]
        rejects_t = ibis.union(*rejects) if len(rejects) > 1 else rejects[0]
        keyed_t = ibis.union(*[_rejects_expr(s, keyed=True) for s in staged])
        exprs = {
            "orders": _orders_expr(st, summary) if materialize else None,
            "import_rejects": rejects_t if materialize else None,
            "import_rejects_keyed": keyed_t if materialize and keyed_rejects else None,
            "customers": customers_t,
            "products": products_t,
        }
        _finish(con, staged, exprs, progress)
    except BaseException:
        _cleanup(con, staged)
        raise
    if materialize:
        _cleanup(con, staged)
        orders = con.table("orders")
    else:  # the staged views stay alive with ``con``: orders and rejects read them
        orders = _orders_expr(st, summary)
    return ImportResult(
        orders=orders,
        customers=con.table("customers") if customers_t is not None else None,
        products=con.table("products") if products_t is not None else None,
        summary=summary,
        rejects=con.table("import_rejects") if materialize else rejects_t,
        con=con,
        keyed_rejects=(
            None
            if not keyed_rejects
            else con.table("import_rejects_keyed")
            if materialize
            else keyed_t
        ),
    )


def _import_entities(kind, paths, con, options, progress) -> ImportResult:
    options = options or ImportOptions()
    con = con if con is not None else connect(None)
    progress = progress or _noop
    staged: list[_Staged] = []
    try:
        st = _stage_entities(con, _read_all(con, paths, options, progress, kind), options, kind)
        staged.append(st)
        summary = _summarise(st, options)
        _finish(
            con,
            staged,
            {kind: _entities_expr(st), f"import_rejects_{kind}": _rejects_expr(st)},
            progress,
        )
    finally:
        _cleanup(con, staged)
    table = con.table(kind)
    return ImportResult(
        orders=None,
        customers=table if kind == "customers" else None,
        products=table if kind == "products" else None,
        summary=summary,
        rejects=con.table(f"import_rejects_{kind}"),
        con=con,
    )


def import_customers(
    paths: PathArg,
    *,
    con: Any = None,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import customer master files into ``customers`` (rejects in ``import_rejects_customers``).

    Rows without an id are rejected (``missing_id``); a repeated id keeps its
    first row (``duplicate_id``).  An unreadable sign-up date becomes NULL.
    """
    return _import_entities("customers", paths, con, options, progress)


def import_products(
    paths: PathArg,
    *,
    con: Any = None,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import product files into ``products`` (rejects in ``import_rejects_products``)."""
    return _import_entities("products", paths, con, options, progress)
