"""Recognise source headers (Chinese or English, many spellings) as canonical fields.

Matching is forgiving: headers and aliases are compared after :func:`normalize_header`
(full-width to half-width, lower case, no spaces/underscores/hyphens/dots, a trailing
unit in brackets dropped), so ``CustomerID``, ``Customer ID``, ``customer_id`` and
``ＣＵＳＴＯＭＥＲ＿ＩＤ`` are one name, and ``金额（元）`` is ``金额``.

Three kinds of file are read: ``orders`` (order lines, which may also carry product
and customer attributes), ``customers`` and ``products``.  In an order-line file the
attribute fields are named ``product_name``, ``category``, ``brand`` (products) and
``customer_name``, ``country``, ``province`` ... (customers); in a customers or
products file the name field is plain ``name``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from kehu.analytics.schema import CUSTOMER_COLUMNS, PRODUCT_COLUMNS
from kehu.exceptions import ConfigError, SchemaError
from kehu.names import IMPORTED_CUSTOMER_FIELDS

#: Aliases per field, most specific first (the first alias found wins).
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "客户编号",
        "客户ID",
        "客户代码",
        "客户编码",
        "客户号",
        "会员号",
        "会员ID",
        "会员编号",
        "会员卡号",
        "用户ID",
        "用户编号",
        "买家ID",
        "零售户编号",
        "零售户代码",
        "customer id",
        "customer_no",
        "customer number",
        "customer code",
        "cust_id",
        "client id",
        "member id",
        "user id",
        "household_id",
        "buyer id",
        "customer",
        "客户",
        "会员",
    ),
    "order_id": (
        "订单号",
        "订单编号",
        "订单ID",
        "单据编号",
        "单据号",
        "单号",
        "发票号",
        "小票号",
        "流水号",
        "交易号",
        "交易编号",
        "order id",
        "order_no",
        "order number",
        "InvoiceNo",
        "invoice id",
        "invoice number",
        "invoice",
        "transaction id",
        "receipt no",
        "basket_id",
    ),
    "order_time": (
        "下单时间",
        "订单日期",
        "交易日期",
        "交易时间",
        "下单日期",
        "订单时间",
        "销售日期",
        "销售时间",
        "购买日期",
        "购买时间",
        "支付时间",
        "付款时间",
        "成交时间",
        "日期",
        "时间",
        "order date",
        "order time",
        "InvoiceDate",
        "invoice date",
        "transaction date",
        "transaction time",
        "transaction_timestamp",
        "purchase date",
        "date",
        "datetime",
        "timestamp",
    ),
    "product_id": (
        "商品编码",
        "商品编号",
        "商品ID",
        "商品代码",
        "产品编码",
        "产品编号",
        "产品ID",
        "货号",
        "物料编码",
        "商品条码",
        "条码",
        "卷烟编码",
        "SKU",
        "sku id",
        "StockCode",
        "stock code",
        "product id",
        "product code",
        "item id",
        "item code",
        "barcode",
    ),
    "quantity": (
        "数量",
        "销售数量",
        "购买数量",
        "订购数量",
        "件数",
        "销量",
        "quantity",
        "qty",
        "units",
        "num_cds",
        "num items",
    ),
    "amount": (
        "实付金额",
        "销售额",
        "销售金额",
        "成交金额",
        "订单金额",
        "支付金额",
        "应付金额",
        "总金额",
        "金额",
        "总价",
        "小计",
        "amount",
        "sales amount",
        "sales_value",
        "sales",
        "revenue",
        "line total",
        "total price",
        "total amount",
        "total",
        "dollar_value",
        "net amount",
        "value",
    ),
    "price": (
        "单价",
        "成交单价",
        "销售单价",
        "售价",
        "价格",
        "零售价",
        "UnitPrice",
        "unit price",
        "price",
        "sale price",
        "list price",
    ),
    "status": ("订单状态", "交易状态", "状态", "status", "order status"),
    "channel": (
        "渠道",
        "销售渠道",
        "渠道类型",
        "业态",
        "终端类型",
        "客户类型",
        "channel",
        "sales channel",
        "outlet type",
    ),
    "store_id": (
        "门店编号",
        "门店ID",
        "门店",
        "店铺ID",
        "店铺",
        "店号",
        "store id",
        "store code",
        "store",
        "shop id",
    ),
    "customer_name": (
        "客户名称",
        "客户姓名",
        "客户名",
        "会员姓名",
        "姓名",
        "零售户名称",
        "customer name",
        "client name",
    ),
    "product_name": (
        "商品名称",
        "商品名",
        "产品名称",
        "品名",
        "卷烟名称",
        "Description",
        "product name",
        "item name",
        "product",
    ),
    "phone": (
        "手机号",
        "手机号码",
        "手机",
        "联系电话",
        "电话",
        "phone",
        "mobile",
        "telephone",
        "tel",
    ),
    "country": ("国家", "country"),
    "province": ("省份", "省", "所在省份", "province", "state"),
    "city": ("城市", "所在城市", "市", "city"),
    "district": ("区县", "区/县", "县区", "区", "县", "district", "county"),
    "area_type": (
        "城乡类型",
        "城乡",
        "市场类型",
        "区域类型",
        "地区类型",
        "area type",
        "urban rural",
    ),
    "gender": ("性别", "gender", "sex"),
    "age_band": ("年龄段", "年龄", "age band", "age group", "age_desc", "age"),
    "income_band": ("收入水平", "收入段", "收入", "income band", "income_desc", "income"),
    "sales_rep": (
        "业务员",
        "客户经理",
        "销售代表",
        "负责人",
        "sales rep",
        "account manager",
        "rep",
    ),
    "distributor_id": (
        "经销商编号",
        "经销商ID",
        "经销商",
        "分销商",
        "distributor id",
        "distributor",
        "dealer id",
    ),
    "signup_date": (
        "注册日期",
        "注册时间",
        "开户日期",
        "入会日期",
        "建档日期",
        "signup date",
        "register date",
        "join date",
        "created at",
    ),
    "category": (
        "品类",
        "类别",
        "商品类别",
        "商品分类",
        "分类",
        "类目",
        "category",
        "product category",
        "department",
    ),
    "brand": ("品牌", "brand", "manufacturer"),
    "pack_size": ("规格", "包装规格", "包装", "pack size", "size"),
}

#: Fields of an order-line file: the order columns, then carried attributes.
ORDER_FIELDS = (
    "customer_id",
    "order_id",
    "order_time",
    "product_id",
    "quantity",
    "price",
    "amount",
    "status",
    "channel",
    "store_id",
)
#: the customer's attributes an order line may carry: its name as ``customer_name``; a line's
#: channel is the order's own, and a signup date comes from master data only
ORDER_CUSTOMER_ATTRS = (
    "customer_name",
    *(f for f in IMPORTED_CUSTOMER_FIELDS if f not in ("name", "channel", "signup_date")),
)
ORDER_PRODUCT_ATTRS = ("product_name", "category", "brand")

# the canonical columns are defined once, with the analytics that read them
CUSTOMER_FIELDS = CUSTOMER_COLUMNS
PRODUCT_FIELDS = PRODUCT_COLUMNS

FIELDS = {
    "orders": ORDER_FIELDS + ORDER_CUSTOMER_ATTRS + ORDER_PRODUCT_ATTRS,
    "customers": CUSTOMER_FIELDS,
    "products": PRODUCT_FIELDS,
}
REQUIRED = {
    "orders": ("customer_id", "order_time"),
    "customers": ("customer_id",),
    "products": ("product_id",),
}
#: ``customer.name``-style mapping keys, accepted for clarity in any kind of file.
_DOTTED = {"customer.name": "customer_name", "product.name": "product_name"}
_NAME_ALIASES = {"customers": "customer_name", "products": "product_name"}

_BRACKETED = re.compile(r"[(\[{].*?[)\]}]")
_NOISE = re.compile(r"[\s_\-./·:：]+")


def normalize_header(text: str) -> str:
    """Normalise a header for comparison (see module docstring).

    >>> normalize_header("Customer ID") == normalize_header("ＣｕｓｔｏｍｅｒＩＤ")
    True
    >>> normalize_header("金额（元）")
    '金额'
    """
    s = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").strip().lower()
    bare = _BRACKETED.sub("", s)
    s = bare if _NOISE.sub("", bare) else s  # a header that is only a bracket keeps it
    return _NOISE.sub("", s)


def aliases(field: str, kind: str) -> tuple[str, ...]:
    """Accepted source names of ``field`` in a file of ``kind``."""
    if field == "name" and kind in _NAME_ALIASES:
        return (*ALIASES[_NAME_ALIASES[kind]], "名称", "name")
    return ALIASES.get(field, ())


def canonical_key(key: str, kind: str) -> str:
    """The field a mapping key names; :class:`ConfigError` for an unknown key."""
    k = _DOTTED.get(key.strip().lower(), key.strip().lower())
    if kind != "orders" and k == _NAME_ALIASES.get(kind):
        k = "name"
    if kind == "orders" and k == "name":
        raise ConfigError(
            "mapping key 'name' is ambiguous in an order-line file: "
            "use product_name (or product.name) or customer_name (or customer.name)"
        )
    if k not in FIELDS[kind]:
        raise ConfigError(
            f"mapping key {key!r} is not a {kind} field; known fields: {', '.join(FIELDS[kind])}"
        )
    return k


def match_columns(
    columns: Iterable[str], kind: str, mapping: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map canonical fields of ``kind`` to source column names.

    ``mapping`` (canonical field -> source header) is applied first and wins;
    every other field takes the first of its aliases present.  A source column
    is used for one field only.  Raises :class:`SchemaError` when a mapped
    header is not in the file.
    """
    cols = list(columns)
    by_norm: dict[str, str] = {}
    for c in cols:
        by_norm.setdefault(normalize_header(c), c)
    found: dict[str, str] = {}
    used: set[str] = set()
    for key, header in (mapping or {}).items():
        field = canonical_key(key, kind)
        source = header if header in cols else by_norm.get(normalize_header(header))
        if source is None:
            raise SchemaError(
                f"mapping {key}={header}: no column {header!r}; columns found: {', '.join(cols)}"
            )
        found[field] = source
        used.add(source)
    for field in FIELDS[kind]:
        if field in found:
            continue
        for alias in aliases(field, kind):
            source = by_norm.get(normalize_header(alias))
            if source is not None and source not in used:
                found[field] = source
                used.add(source)
                break
    return found


def missing_message(what: str, kind: str, missing: Iterable[str], columns: Iterable[str]) -> str:
    """The text of a :class:`SchemaError` for required fields not found."""
    parts = []
    for field in missing:
        names = ", ".join(aliases(field, kind))
        if field == "amount":
            parts.append(
                f"amount (a line total: {names}; or price ({', '.join(ALIASES['price'])}) "
                f"together with quantity ({', '.join(ALIASES['quantity'])}))"
            )
        else:
            parts.append(f"{field} (accepted names: {names})")
    found = ", ".join(str(c) for c in columns) or "(none)"
    return (
        f"{what}: missing required column(s) {'; '.join(parts)}. Columns found: {found}. "
        f"Name the column with a mapping such as --map 'field=<your header>'."
    )
