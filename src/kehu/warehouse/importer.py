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

from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.schema import CUSTOMER_COLUMNS, PRODUCT_COLUMNS
from kehu.warehouse import tables
from kehu.warehouse.connect import connect
from kehu.warehouse.derive import CUSTOMER_FROM_ORDERS, PRODUCT_FROM_ORDERS, _derived, _merge
from kehu.warehouse.options import ImportOptions
from kehu.warehouse.outputs import _entities_expr, _orders_expr, _rejects_expr, _summarise
from kehu.warehouse.readers import PathArg, drop_raw
from kehu.warehouse.staging import Progress, _read_all, _stage_entities, _stage_orders, _Staged
from kehu.warehouse.summary import ImportSummary


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


def _noop(step: str, done: int, total: int) -> None:
    return None


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
    # long: half of it is the numpydoc docstring; the body is the import's steps, in order
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
        extra = _stage_master_files(con, customers, products, options, progress, staged)
        summary = _summaries(st, extra, options, progress)
        customers_t, products_t = _master_data(st, extra)
        rejects_t, keyed_t = _all_rejects(staged)
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
        orders, rejects_t = con.table("orders"), con.table("import_rejects")
        keyed_t = con.table("import_rejects_keyed") if keyed_rejects else None
    else:  # the staged views stay alive with ``con``: orders and rejects read them
        orders = _orders_expr(st, summary)
    return ImportResult(
        orders=orders,
        customers=con.table("customers") if customers_t is not None else None,
        products=con.table("products") if products_t is not None else None,
        summary=summary,
        rejects=rejects_t,
        con=con,
        keyed_rejects=keyed_t if keyed_rejects else None,
    )


def _stage_master_files(con, customers, products, options, progress, staged) -> dict:
    """Stage the separate customer and product files given (appended to ``staged`` too)."""
    extra = {}
    for kind, arg in (("customers", customers), ("products", products)):
        if arg is not None:
            sources = _read_all(con, arg, options, progress, kind)
            extra[kind] = _stage_entities(con, sources, options, kind)
            staged.append(extra[kind])
    return extra


def _summaries(st: _Staged, extra: dict[str, _Staged], options, progress) -> ImportSummary:
    """The orders' summary, with those of the separate master files in ``others``."""
    progress("rules", 0, 1)
    summary = _summarise(st, options)
    summary.others = {k: _summarise(s, options) for k, s in extra.items()}
    progress("rules", 1, 1)
    return summary


def _all_rejects(staged: list[_Staged]) -> tuple[ir.Table, ir.Table]:
    """The rejects of every kind, plain and keyed (with the order or entity id)."""
    rejects = [_rejects_expr(s) for s in staged]
    rejects_t = ibis.union(*rejects) if len(rejects) > 1 else rejects[0]
    keyed_t = ibis.union(*[_rejects_expr(s, keyed=True) for s in staged])
    return rejects_t, keyed_t


def _master_data(st: _Staged, extra: dict[str, _Staged]) -> tuple[ir.Table | None, ...]:
    """Customers and products: the master files' rows, gaps filled from the order lines."""
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
    return customers_t, products_t


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
