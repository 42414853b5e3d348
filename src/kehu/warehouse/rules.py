"""Row rules of an import, as Ibis expressions over one raw file.

:func:`stage_orders` turns a raw order-line table into canonical columns plus
bookkeeping columns that say what happens to each row:

``__reject`` / ``__rcol`` / ``__rval``
    the first reject reason (:data:`~kehu.warehouse.summary.REJECT_REASONS`),
    the source column and its raw value;
``__rule`` / ``__scol`` / ``__sval``
    the first set-aside rule that applies (``non_product``, ``zero_price``,
    ``return`` when returns are excluded);
``__np`` / ``__zp``
    the line is a non-product / zero-price line (counted when such lines are kept).

Exact duplicates are found across files by the importer, and rank between the
two: a row gets the first reason of reject, ``duplicate``, then set-aside rule.

The bounds of order data (:data:`MAX_LENGTHS`, :data:`FIRST_ORDER_TIME`,
:data:`END_ORDER_TIME`, :data:`MAX_QUANTITY`, :data:`MAX_PRICE`,
:data:`MAX_AMOUNT`) are defined here once: the import rejects rows outside them,
and the API schemas and the services (:func:`check_key`, :func:`check_order_time`,
:func:`check_line`) apply the same numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Sequence

import ibis
import ibis.expr.types as ir

from kehu.analytics.schema import ORDER_COLUMNS
from kehu.exceptions import SchemaError
from kehu.warehouse.cells import has_text, to_number, to_text
from kehu.warehouse.dates import parse_timestamp
from kehu.warehouse.options import ImportOptions
from kehu.warehouse.readers import ROW_COLUMN

FILE_BITS = 40  # __seq = file index << 40 | row: row numbers up to ~10^12 per file
#: Canonical text fields of an order line (the attributes it may carry are text too).
TEXT_FIELDS = ("customer_id", "order_id", "product_id", "status", "channel", "store_id")
BOOK = ("__file", "__row", "__seq", "__reject", "__rcol", "__rval", "__rule", "__scol", "__sval")

# --- bounds, defined once -----------------------------------------------------------------

#: Longest text per canonical field and kind of row: the store's column lengths
#: (a test checks that they agree), so that a row the import keeps can be stored.
MAX_LENGTHS: dict[str, dict[str, int]] = {
    "orders": {
        "customer_id": 64,
        "order_id": 128,
        "product_id": 64,
        "status": 32,
        "channel": 64,
        "store_id": 64,
        # attributes of the customer and the product that order lines may carry
        "customer_name": 200,
        "phone": 40,
        "country": 64,
        "province": 64,
        "city": 64,
        "district": 64,
        "area_type": 16,
        "gender": 16,
        "age_band": 32,
        "income_band": 32,
        "sales_rep": 100,
        "distributor_id": 200,
        "product_name": 200,
        "category": 100,
        "brand": 100,
    },
    "customers": {
        "customer_id": 64,
        "name": 200,
        "phone": 40,
        "country": 64,
        "province": 64,
        "city": 64,
        "district": 64,
        "area_type": 16,
        "channel": 64,
        "gender": 16,
        "age_band": 32,
        "income_band": 32,
        "sales_rep": 100,
        "distributor_id": 200,
    },
    "products": {"product_id": 64, "name": 200, "category": 100, "brand": 100, "pack_size": 64},
}
MAX_CUSTOMER_ID = MAX_LENGTHS["orders"]["customer_id"]
MAX_ORDER_ID = MAX_LENGTHS["orders"]["order_id"]
MAX_PRODUCT_ID = MAX_LENGTHS["orders"]["product_id"]
#: Order times from this one on ...
FIRST_ORDER_TIME = dt.datetime(1900, 1, 1)
#: ... and before this one: a year-1 or year-9999 date is a typo, not a sale.
END_ORDER_TIME = dt.datetime(2100, 1, 1)
#: Largest absolute quantity and unit price of a line.
MAX_QUANTITY = 1e9
MAX_PRICE = 1e9
#: Largest absolute line amount, price x quantity, and order total.
MAX_AMOUNT = 1e12


def check_key(value: object, field: str, *, max_length: int) -> str:
    """An id as stored: trimmed, not blank, at most ``max_length`` characters."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise SchemaError(f"{field} must not be empty or blank")
    if len(text) > max_length:
        raise SchemaError(f"{field} has {len(text)} characters; at most {max_length} are allowed")
    if "\x00" in text:
        raise SchemaError(f"{field} must not contain NUL characters")
    return text


def check_order_time(value: dt.datetime, field: str = "order_time") -> dt.datetime:
    """The local wall-clock time (an offset is dropped), within the accepted years."""
    value = value.replace(tzinfo=None)
    if not FIRST_ORDER_TIME <= value < END_ORDER_TIME:
        raise SchemaError(
            f"{field} {value.isoformat()} is outside {FIRST_ORDER_TIME:%Y-%m-%d} .. "
            f"{END_ORDER_TIME - dt.timedelta(days=1):%Y-%m-%d}"
        )
    return value


def _within(value: float | None, limit: float) -> bool:
    return value is None or (math.isfinite(value) and abs(value) <= limit)


def check_line(
    quantity: float | None, price: float | None, amount: float | None, where: str
) -> float:
    """The line amount (given, or price x quantity) after checking every bound."""
    for name, value, limit in (
        ("quantity", quantity, MAX_QUANTITY),
        ("price", price, MAX_PRICE),
        ("amount", amount, MAX_AMOUNT),
    ):
        if not _within(value, limit):
            raise SchemaError(f"{where}: {name} {value} is beyond ±{limit:g}")
    product = None if price is None or quantity is None else float(price) * float(quantity)
    if not _within(product, MAX_AMOUNT):
        raise SchemaError(f"{where}: price x quantity {product:g} is beyond ±{MAX_AMOUNT:g}")
    if amount is None:
        if product is None:
            raise SchemaError(f"{where}: give amount, or price and quantity")
        return product
    return float(amount)


def _too_long(value: ir.StringValue, limit: int) -> ir.BooleanValue:
    return (value.length() > limit).fill_null(False)


def _beyond(value: ir.NumericValue, limit: float) -> ir.BooleanValue:
    """Not within ±limit; NaN and infinities too (NULL is tested elsewhere)."""
    return value.notnull() & ~(value.abs() <= limit).fill_null(False)


_NULL_STR = ibis.null("string")
_NULL_F64 = ibis.null("float64")
_F = ibis.literal(False)


def _raw_text(col: ir.Value) -> ir.StringValue:
    return col if col.type().is_string() else col.cast("string")


def _first(cases: Sequence[tuple[ir.BooleanValue, str, str, ir.Value]]):
    """(reason, column, value) of the first true condition, each NULL when none is."""
    if not cases:
        return _NULL_STR, _NULL_STR, _NULL_STR
    reason = ibis.cases(*[(c, ibis.literal(r)) for c, r, _, _ in cases], else_=_NULL_STR)
    column = ibis.cases(*[(c, ibis.literal(h)) for c, _, h, _ in cases], else_=_NULL_STR)
    value = ibis.cases(*[(c, _raw_text(v)) for c, _, _, v in cases], else_=_NULL_STR)
    return reason, column, value


def _bookkeeping(t: ir.Table, file_index: int) -> dict[str, ir.Value]:
    row = t[ROW_COLUMN].cast("int64")
    return {
        "__file": ibis.literal(file_index, "int32"),
        "__row": row,
        "__seq": row + ibis.literal(file_index << FILE_BITS, "int64"),
    }


#: Above this many distinct matching values, the non-product test runs per row.
MAX_LISTED_VALUES = 5_000


def _non_product_tests(
    value: ir.StringValue, options: ImportOptions, *, codes: bool
) -> list[ir.BooleanValue]:
    """The non-product conditions on one text column (codes only on the product id)."""
    conds: list[ir.BooleanValue] = []
    if codes:
        code = value.upper()
        exact = [c.upper() for c in options.non_product_codes if not c.endswith("*")]
        prefixes = [c[:-1].upper() for c in options.non_product_codes if c.endswith("*")]
        conds += [code.isin(exact)] if exact else []
        conds += [code.startswith(x) for x in prefixes]
    # Plain substring tests: a (?i) regex costs ten times more on millions of rows.
    for word in options.non_product_words:
        conds.append(value.ilike(f"%{word}%") if word.isascii() else value.contains(word))
    return [c.fill_null(False) for c in conds]


def _matching_values(
    t: ir.Table, raw: ir.Value, options: ImportOptions, *, codes: bool
) -> list[str] | None:
    """The text values of ``raw`` that are non-product, tested once per distinct value.

    ``None`` when there are too many to list (then the tests run per row).  A
    file has thousands of products but millions of lines, so this replaces a
    dozen string tests per line by one hash lookup.
    """
    d = t.select(__v=to_text(raw)).distinct()
    conds = _non_product_tests(d.__v, options, codes=codes)
    if not conds:
        return []
    hits = d.filter(ibis.or_(*conds)).limit(MAX_LISTED_VALUES + 1).to_pyarrow()
    values = hits.column("__v").to_pylist()
    return None if len(values) > MAX_LISTED_VALUES else values


def _non_product(
    t: ir.Table, m: dict[str, str], options: ImportOptions, p: ir.Table
) -> ir.BooleanValue:
    """``__np``: the product id is a non-product code or either text holds a fee word."""
    conds: list[ir.BooleanValue] = []
    for field, codes in (("product_id", True), ("product_name", False)):
        if field not in m:
            continue
        listed = _matching_values(t, t[m[field]], options, codes=codes)
        if listed is None:
            conds += _non_product_tests(p[field], options, codes=codes)
        elif listed:
            conds.append(p[field].isin(listed).fill_null(False))
    return ibis.or_(*conds) if conds else _F


def stage_orders(
    t: ir.Table,
    m: dict[str, str],
    file_index: int,
    options: ImportOptions,
    attrs: Sequence[str],
    step: Callable[[ir.Table], ir.Table] = lambda x: x,
    tidy: Collection[str] = (),
) -> ir.Table:
    """Canonical order lines of one raw file, with the rule columns (module docstring).

    The work is done in three projections -- parse, test, decide -- and ``step``
    (which should turn an expression into a view) is applied between them, so
    that each parsed value and each test is computed once per row instead of
    being inlined into every expression that uses it.  ``tidy`` names the
    source text columns known to hold no empty or untrimmed value: they are
    used as they are instead of being trimmed on every read.
    """
    raws = {f: t[m[f]] for f in ("order_time", "quantity", "price", "amount") if f in m}
    p = step(t.select(**_parsed_orders(t, m, file_index, attrs, tidy, raws)))
    limits = MAX_LENGTHS["orders"]
    texts = [f for f in (*TEXT_FIELDS, *attrs) if f in m and f in limits]
    q = step(p.mutate(**_order_tests(t, m, p, options, raws, texts)))
    # 3. decide: first reject reason, first set-aside rule, signed values.
    returns = _return_cases(q, m, options, raws)
    is_return = ibis.or_(*[c for c, *_ in returns])
    rules = _set_aside_cases(q, m, options, raws)
    if options.returns == "exclude":
        rules += returns
    reject, rcol, rval = _first(_reject_cases(q, m, raws, texts))
    rule, scol, sval = _first(rules)
    values: dict[str, ir.Value] = {
        "customer_id": q.customer_id,
        "order_id": q.order_id,
        "order_time": q.order_time,
        "product_id": q.product_id,
        "quantity": is_return.ifelse(-q.__qty.abs(), q.__qty),
        "price": q.price,
        "amount": is_return.ifelse(-q.__amount.abs(), q.__amount),
        "is_return": is_return,
        "status": q.status,
        "channel": q.channel,
        "store_id": q.store_id,
        **{a: q[a] for a in attrs},
        **{b: q[b] for b in ("__file", "__row", "__seq")},
        "__reject": reject,
        "__rcol": rcol,
        "__rval": rval,
        "__rule": rule,
        "__scol": scol,
        "__sval": sval,
        "__np": q.__np,
        "__zp": q.__zp,
    }
    assert tuple(values)[: len(ORDER_COLUMNS)] == ORDER_COLUMNS
    return q.select(**values)


_Case = tuple[ir.BooleanValue, str, str, ir.Value]


def _parsed_orders(
    t: ir.Table,
    m: dict[str, str],
    file_index: int,
    attrs: Sequence[str],
    tidy: Collection[str],
    raws: dict[str, ir.Value],
) -> dict[str, ir.Value]:
    """1. parse: canonical values, plus the raw cells a reject must quote."""

    def text(field: str) -> ir.StringValue:
        return _NULL_STR if field not in m else to_text(t[m[field]], tidy=m[field] in tidy)

    return {
        "customer_id": text("customer_id"),
        "order_id": text("order_id"),
        "order_time": parse_timestamp(raws["order_time"]),
        "product_id": text("product_id"),
        "__qty": to_number(raws["quantity"]) if "quantity" in raws else _NULL_F64,
        "price": to_number(raws["price"]) if "price" in raws else _NULL_F64,
        "__amount": to_number(raws["amount"]) if "amount" in raws else _NULL_F64,
        "status": text("status"),
        "channel": text("channel"),
        "store_id": text("store_id"),
        **{a: text(a) for a in attrs},
        **_bookkeeping(t, file_index),
        **{f"__raw_{f}": c for f, c in raws.items()},
    }


def _order_tests(
    t: ir.Table,
    m: dict[str, str],
    p: ir.Table,
    options: ImportOptions,
    raws: dict[str, ir.Value],
    texts: list[str],
) -> dict[str, ir.Value]:
    """2. test: one boolean per check, so each is computed once per row."""
    amount = p.__amount if "amount" in raws else p.price * p.__qty
    np_cond = _non_product(t, m, options, p)
    in_time = (p.order_time >= FIRST_ORDER_TIME) & (p.order_time < END_ORDER_TIME)
    # the text fields with a length limit, tested once per row: the index of the first too long
    limits = MAX_LENGTHS["orders"]
    long_cases = [(_too_long(p[f], limits[f]), i) for i, f in enumerate(texts, start=1)]
    tests: dict[str, ir.Value] = {
        "__amount": amount,
        "__t_date": ~in_time.fill_null(False),
        "__t_amount": amount.isnull() | _beyond(amount, MAX_AMOUNT),
        "__t_qty": (
            (has_text(p.__raw_quantity) & p.__qty.isnull()) | _beyond(p.__qty, MAX_QUANTITY)
            if "quantity" in raws
            else _F
        ),
        "__t_price": (
            (has_text(p.__raw_price) & p.price.isnull()) | _beyond(p.price, MAX_PRICE)
            if "price" in raws
            else _F
        ),
        "__t_price_null": p.price.isnull(),
        "__t_product": (
            _beyond(p.price * p.__qty, MAX_AMOUNT) if "price" in raws and "quantity" in raws else _F
        ),
        "__t_long": (
            ibis.cases(*long_cases, else_=ibis.literal(0, "int16")).cast("int16")
            if long_cases
            else ibis.literal(0, "int16")
        ),
        "__r_status": (
            p.status.lower().isin([w.lower() for w in options.return_statuses]).fill_null(False)
            if "status" in m
            else _F
        ),
        "__r_qty": (p.__qty < 0).fill_null(False),
        "__r_amount": (amount < 0).fill_null(False),
        "__r_prefix": _F,
        "__np": np_cond,
        "__zp": (p.price == 0).fill_null(False) if "price" in raws else _F,
    }
    if "order_id" in m and options.return_prefixes:
        # A prefix followed by a digit is the text range [x + "0", x + ":"): ":"
        # follows "9" in byte order.  Two comparisons cost far less than a regex
        # or a substring test on every row.
        tests["__r_prefix"] = ibis.or_(
            *[(p.order_id >= x + "0") & (p.order_id < x + ":") for x in options.return_prefixes]
        ).fill_null(False)
    return tests


def _reject_cases(
    q: ir.Table, m: dict[str, str], raws: dict[str, ir.Value], texts: list[str]
) -> list[_Case]:
    """The reject reasons in the order they rank, each with the source column it quotes."""
    rejects: list[_Case] = [(q.__t_date, "bad_date", m["order_time"], q.__raw_order_time)]
    if "amount" in raws:
        rejects.append((q.__t_amount, "bad_amount", m["amount"], q.__raw_amount))
        if "quantity" in raws:
            rejects.append((q.__t_qty, "bad_quantity", m["quantity"], q.__raw_quantity))
        if "price" in raws:
            rejects.append((q.__t_price, "bad_price", m["price"], q.__raw_price))
        if "price" in raws and "quantity" in raws:  # stored with the line: bounded too
            rejects.append((q.__t_product, "bad_amount", m["quantity"], q.__raw_quantity))
    else:  # amount = price x quantity: either side unreadable makes the amount unreadable
        rejects.append((q.__t_price_null, "bad_amount", m["price"], q.__raw_price))
        rejects.append((q.__qty.isnull(), "bad_amount", m["quantity"], q.__raw_quantity))
        rejects.append((q.__t_qty, "bad_quantity", m["quantity"], q.__raw_quantity))
        rejects.append((q.__t_price, "bad_price", m["price"], q.__raw_price))
        rejects.append((q.__t_amount, "bad_amount", m["quantity"], q.__raw_quantity))
    rejects += [(q.__t_long == i, "too_long", m[f], q[f]) for i, f in enumerate(texts, start=1)]
    return rejects


def _return_cases(
    q: ir.Table, m: dict[str, str], options: ImportOptions, raws: dict[str, ir.Value]
) -> list[_Case]:
    """What makes a line a return (status, negative quantity or amount, order-id prefix)."""
    returns: list[_Case] = []
    if "status" in m:
        returns.append((q.__r_status, "return", m["status"], q.status))
    if "quantity" in raws:
        returns.append((q.__r_qty, "return", m["quantity"], q.__raw_quantity))
    amount_field = "amount" if "amount" in raws else "price"
    returns.append((q.__r_amount, "return", m[amount_field], q[f"__raw_{amount_field}"]))
    if "order_id" in m and options.return_prefixes:
        returns.append((q.__r_prefix, "return", m["order_id"], q.order_id))
    return returns


def _set_aside_cases(
    q: ir.Table, m: dict[str, str], options: ImportOptions, raws: dict[str, ir.Value]
) -> list[_Case]:
    """The set-aside rules the options exclude, before returns (added by the caller)."""
    rules: list[_Case] = []
    if options.non_product == "exclude" and "product_id" in m:
        rules.append((q.__np, "non_product", m["product_id"], q.product_id))
    if options.zero_price == "exclude" and "price" in raws:
        rules.append((q.__zp, "zero_price", m["price"], q.__raw_price))
    return rules


def stage_entities(
    t: ir.Table, m: dict[str, str], file_index: int, id_field: str, fields: Sequence[str]
) -> ir.Table:
    """Canonical customer or product rows of one raw file, with their rejects.

    ``price`` becomes a number and ``signup_date`` a date (NULL when unreadable:
    a customer is not dropped for a bad sign-up date).  A row is rejected for a
    missing id (``missing_id``), a text longer than :data:`MAX_LENGTHS` allows
    (``too_long``) or a price beyond :data:`MAX_PRICE` (``bad_price``).
    """
    kind = "customers" if id_field == "customer_id" else "products"
    limits = MAX_LENGTHS[kind]
    values: dict[str, ir.Value] = {}
    for f in fields:
        c = t[m[f]] if f in m else None
        if f == "price":
            values[f] = _NULL_F64 if c is None else to_number(c)
        elif f == "signup_date":
            values[f] = ibis.null("date") if c is None else parse_timestamp(c).date()
        else:
            values[f] = _NULL_STR if c is None else to_text(c)
    values.update(_bookkeeping(t, file_index))
    rejects = [(values[id_field].isnull(), "missing_id", m[id_field], t[m[id_field]])]
    rejects += [
        (_too_long(values[f], limits[f]), "too_long", m[f], values[f])
        for f in fields
        if f in m and f in limits
    ]
    if "price" in m and "price" in fields:
        price_out = _beyond(values["price"], MAX_PRICE)
        rejects.append((price_out, "bad_price", m["price"], t[m["price"]]))
    reason, column, value = _first(rejects)
    values.update(
        __reject=reason,
        __rcol=column,
        __rval=value,
        __rule=_NULL_STR,
        __scol=_NULL_STR,
        __sval=_NULL_STR,
        __np=ibis.literal(False),
        __zp=ibis.literal(False),
    )
    return t.select(**values)
