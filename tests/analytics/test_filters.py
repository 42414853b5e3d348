"""The safe filter language: every operator, aliases, dates, nulls, errors and properties."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kehu.analytics.filters import (
    COLUMN_ALIASES,
    MAX_DEPTH,
    Column,
    Compare,
    Literal,
    Logical,
    Not,
    apply_filter,
    columns_used,
    compile_filter,
    parse,
)
from kehu.exceptions import FilterSyntaxError

D = dt.date
TS = dt.datetime
ROWS = {
    "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
    "orders": [1, 4, 6, 2, None, 10],
    "monetary": [100.0, 1500.0, 5000.0, 999.5, 0.0, 12000.0],
    "avg_order_value": [100.0, 375.0, 833.33, 499.75, None, 1200.0],
    "recency_days": [120, 58, 15, 300, None, 89],
    "region": ["华东", "华东", "华北", None, "华南", "华东"],
    "channel": ["超市", "电商", "超市", None, "餐饮", "超市"],
    "last_purchase": [D(2023, 12, 1), D(2024, 2, 1), D(2024, 3, 15), D(2023, 6, 30), None,
                      D(2024, 1, 1)],
    "first_seen": [TS(2023, 1, 1, 10), TS(2024, 1, 1, 12), TS(2024, 1, 1, 11, 59), None,
                   TS(2022, 5, 5), TS(2024, 6, 1)],
    "name": ["A超市", "便利店B", "大超市C", "O'Neil%", None, "超市_6"],
    "is_vip": [False, True, True, None, False, False],
    "等级": ["金", "银", "金", None, "铜", "金"],
    "rfm8": ["重要价值客户", "重要保持客户", "一般发展客户", "一般挽留客户", None, "重要价值客户"],
    "top_category": [None, "饮料", "零食", "饮料", None, "饮料"],
}  # fmt: skip
ALL = frozenset(ROWS["customer_id"])


@pytest.fixture(scope="module")
def table() -> ibis.Table:
    return ibis.memtable(pa.table(ROWS))


def ids(table: ibis.Table, text: str) -> frozenset[str]:
    return frozenset(apply_filter(table, text).customer_id.to_pyarrow().to_pylist())


def s(*names: str) -> frozenset[str]:
    return frozenset(names)


# Every case is checked by hand against ROWS; the property tests below reuse them as atoms.
CASES = [
    ("orders >= 4", s("c2", "c3", "c6")),
    ("orders > 4", s("c3", "c6")),
    ("orders < 4", s("c1", "c4")),
    ("orders <= 4", s("c1", "c2", "c4")),
    ("orders = 4", s("c2")),
    ("orders == 4", s("c2")),
    ("orders != 4", s("c1", "c3", "c4", "c5", "c6")),  # c5 (null) is "not 4": two-valued
    ("orders <> 4", s("c1", "c3", "c4", "c5", "c6")),
    ("orders > 1.5", s("c2", "c3", "c4", "c6")),
    ("region = '华东'", s("c1", "c2", "c6")),
    ('region = "华东"', s("c1", "c2", "c6")),
    ("region != '华东'", s("c3", "c4", "c5")),
    ("frequency >= 4 and region = '华东'", s("c2", "c6")),
    ("rfm8 in ('重要价值客户', '重要保持客户')", s("c1", "c2", "c6")),
    ("rfm8 not in ('重要价值客户', '重要保持客户')", s("c3", "c4", "c5")),
    ("orders in (1, 2, 99)", s("c1", "c4")),
    ("orders in (-1, 4.0)", s("c2")),
    ("region in ('华北', null)", s("c3")),
    ("monetary between 1000 and 5000", s("c2", "c3")),
    ("monetary not between 1000 and 5000", s("c1", "c4", "c5", "c6")),
    ("monetary between 1000 and 5000 and not channel = '电商'", s("c3")),
    ("last_purchase < '2024-01-01'", s("c1", "c4")),
    ("last_purchase >= '2024/01/01'", s("c2", "c3", "c6")),
    ("last_purchase = '2024年1月1日'", s("c6")),
    ("last_purchase between '2024-01-01' and '2024-02-01'", s("c2", "c6")),
    ("last_purchase in ('2024-01-01', '2023-12-01')", s("c1", "c6")),
    ("first_seen >= '2024-01-01 12:00'", s("c2", "c6")),
    ("first_seen < '2024-01-01'", s("c1", "c5")),
    ("top_category is null", s("c1", "c5")),
    ("top_category IS NOT NULL", s("c2", "c3", "c4", "c6")),
    ("name contains '超市'", s("c1", "c3", "c6")),
    ("name like '%超市%'", s("c1", "c3", "c6")),
    ("name like '超市__'", s("c6")),
    ("name not like '%超市%'", s("c2", "c4", "c5")),
    ("name not contains '超市'", s("c2", "c4", "c5")),
    ("name = 'O''Neil%'", s("c4")),
    ('name = "O\'Neil%"', s("c4")),
    ("name = 'O\\'Neil%'", s("c4")),
    ("is_vip", s("c2", "c3")),
    ("not is_vip", s("c1", "c4", "c5", "c6")),
    ("is_vip = true", s("c2", "c3")),
    ("is_vip = FALSE", s("c1", "c5", "c6")),
    ("等级 = '金'", s("c1", "c3", "c6")),
    ("`等级` = '金'", s("c1", "c3", "c6")),
    ("区域 = '华北'", s("c3")),
    ("地区 = '华北'", s("c3")),
    ("频次 > 5", s("c3", "c6")),
    ("购买次数 > 5", s("c3", "c6")),
    ("消费金额 >= 5000", s("c3", "c6")),
    ("spend > 10000", s("c6")),
    ("aov > 400", s("c3", "c4", "c6")),
    ("客单价 > 400", s("c3", "c4", "c6")),
    ("recency <= 60", s("c2", "c3")),
    ("最近购买天数 <= 60", s("c2", "c3")),
    ("Frequency >= 4", s("c2", "c3", "c6")),  # aliases ignore case
    ("渠道 = '超市' and 省份 is null", None),  # no province column: an error, see below
    ("monetary / orders > 800", s("c3", "c6")),
    ("orders * 2 + 1 >= 9", s("c2", "c3", "c6")),
    ("orders - 1 = 0", s("c1")),
    ("-orders < -5", s("c3", "c6")),
    ("monetary / (orders - 1) > 1000", s("c6")),  # c1 divides by zero: null, so false
    ("1 = 1", ALL),
    ("true", ALL),
    ("false or null", s()),
]
ATOMS = [(text, expected) for text, expected in CASES if expected is not None]


@pytest.mark.parametrize(("text", "expected"), ATOMS)
def test_operators(table, text, expected):
    assert ids(table, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # and binds tighter than or
        ("region = '华北' or region = '华东' and orders < 5", s("c1", "c2", "c3")),
        ("(region = '华北' or region = '华东') and orders < 5", s("c1", "c2")),
        # not binds tighter than and
        ("not region = '华东' and orders > 1", s("c3", "c4")),
        ("NOT region = '华东' AND orders > 1", s("c3", "c4")),
        ("not (region = '华东' and orders > 1)", s("c1", "c3", "c4", "c5")),
        ("not not is_vip", s("c2", "c3")),
        ("orders > 5 or orders < 2 or region = '华南'", s("c1", "c3", "c5", "c6")),
        ("orders + 1 * 2 = 3", s("c1")),  # * before +
        ("(orders + 1) * 2 = 4", s("c1")),
        ("orders - 1 - 1 = 0", s("c4")),  # left associative
        ("monetary / 10 / 10 = 1", s("c1")),
    ],
)
def test_precedence(table, text, expected):
    assert ids(table, text) == expected


def test_ast_shape():
    node = parse("not a = 1 or b = 'x' and c")
    assert isinstance(node, Logical) and node.op == "or"
    assert isinstance(node.operands[0], Not)
    assert isinstance(node.operands[1], Logical) and node.operands[1].op == "and"
    cmp = parse("区域 <> '华东'")
    assert cmp == Compare(0, "!=", Column(0, "区域"), Literal(6, "华东"), 3)


@pytest.mark.parametrize(
    "text",
    ["orders != 4", "region != '华东'", "name like '%超市%'", "rfm8 in ('重要价值客户')",
     "monetary / (orders - 1) > 1000", "is_vip", "last_purchase < '2024-01-01'"],
)  # fmt: skip
def test_null_semantics_partition(table, text):
    """Two-valued logic: P and not P split the rows, nulls included."""
    yes, no = ids(table, text), ids(table, f"not ({text})")
    assert yes | no == ALL
    assert not yes & no


def test_compiled_expression_is_never_null(table):
    expr = compile_filter("orders != 4 and not name like '%超市%'", table)
    values = table.select(v=expr).v.to_pyarrow().to_pylist()
    assert None not in values


def test_exact_column_wins_over_alias():
    t = ibis.memtable({"customer_id": ["a", "b"], "frequency": [1, 9], "orders": [9, 1]})
    assert ids(t, "frequency > 5") == s("b")  # the column, not orders
    assert columns_used("frequency > 5", t) == {"frequency"}
    assert columns_used("frequency > 5") == {"orders"}


def test_columns_used():
    text = "frequency >= 4 and 区域 = '华东' or `等级` = '金' and monetary / aov > 1"
    assert columns_used(text) == {"orders", "region", "等级", "monetary", "avg_order_value"}
    assert columns_used("1 = 1") == set()


def test_alias_table_targets_canonical_names():
    assert COLUMN_ALIASES["frequency"] == "orders"
    assert COLUMN_ALIASES["区域"] == COLUMN_ALIASES["地区"] == "region"
    assert all(k == k.lower() for k in COLUMN_ALIASES)  # looked up lower-cased


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "empty filter"),
        ("   ", 0, "empty filter"),
        ("orders > 4 $", 11, "unexpected character '$'"),
        ("orders >= 4 （", 12, "use the ASCII '('"),
        ("region = '华东", 9, "unclosed string"),
        ("`orders > 4", 0, "unclosed backquoted name"),
        ("(orders > 4", 0, "unclosed parenthesis"),
        ("region in ('a', 'b'", 10, "unclosed parenthesis"),
        ("orders > 4)", 10, "unmatched closing parenthesis"),
        ("orders > 4 region", 11, "expected 'and', 'or' or the end"),
        ("orders >", 8, "ends here"),
        ("region > 4 and", 14, "ends here"),
        ("region in ()", 11, "literal value"),
        ("region in '华东'", 10, "'('"),
        ("orders between 1", 16, "'and'"),
        ("top_category is nul", 16, "'null'"),
        ("10abc > 1", 2, "in a number"),
        ("99999999999999999999 > 1", 0, "out of range"),
        ("and orders > 1", 0, "unexpected keyword 'and'"),
        ("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), MAX_DEPTH, "nested too deeply"),
    ],
)
def test_syntax_errors(table, text, position, message):
    with pytest.raises(FilterSyntaxError) as info:
        parse(text)
    assert info.value.position == position
    assert message in info.value.reason
    with pytest.raises(FilterSyntaxError):
        compile_filter(text, table)


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("ordrs > 4", 0, "did you mean 'orders'"),
        ("渠道 = '超市' and 省份 is null", 14, "unknown column '省份'"),
        ("region = 5", 9, "type mismatch: column 'region' is text but 5 is a number"),
        ("orders = '5'", 9, "type mismatch"),
        ("5 = region", 4, "type mismatch"),
        ("orders = region", 9, "type mismatch"),
        ("last_purchase < '2024-13-01'", 16, "not a valid date"),
        ("last_purchase < 'yesterday'", 16, "not a valid date"),
        ("last_purchase < 20240101", 16, "type mismatch"),
        ("last_purchase = '2024-01-01 10:00'", 16, "has a time"),
        ("orders = null", 9, "is null"),
        ("region != null", 10, "is not null"),
        ("region contains 5", 16, "works on text"),
        ("orders like '1%'", 0, "works on text"),
        ("orders", 0, "not a condition"),
        ("orders + region > 1", 9, "needs numbers"),
        ("-region = 'x'", 1, "needs numbers"),
        ("is_vip > true", 7, "cannot order"),
        ("monetary between 1 and null", 23, "non-null bounds"),
        ("region in (null)", 11, "only nulls"),
    ],
)
def test_compile_errors(table, text, position, message):
    parse(text)  # well-formed: the problem is the table's schema
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(text, table)
    assert info.value.position == position
    assert message in info.value.reason


def test_unknown_column_lists_available_columns(table):
    with pytest.raises(FilterSyntaxError) as info:
        apply_filter(table, "regoin = '华东'")
    assert "did you mean 'region'" in str(info.value)
    assert "Available columns: customer_id, orders, monetary" in str(info.value)
    # unknown alias names are suggested too
    with pytest.raises(FilterSyntaxError, match="did you mean 'frequency'"):
        apply_filter(table, "frequncy > 1")


def test_error_message_has_caret_under_cjk_text(table):
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter("区域 = 5", table)
    assert info.value.position == 5
    # 区域 are two columns wide each: the caret sits under the 5
    assert str(info.value).endswith("\n  区域 = 5\n  " + " " * 7 + "^")


def test_filter_syntax_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse("(")


def test_deep_but_legal_expressions_run(table):
    chain = " + ".join(["orders"] * (MAX_DEPTH - 2))
    assert ids(table, f"{chain} > 300") == s("c3", "c6")  # 62 * orders > 300
    nested = "(" * 30 + "orders > 4" + ")" * 30
    assert ids(table, nested) == s("c3", "c6")
    with pytest.raises(FilterSyntaxError, match="nested too deeply"):
        parse(" + ".join(["orders"] * (MAX_DEPTH + 2)) + " > 1")
    with pytest.raises(FilterSyntaxError, match="nested too deeply"):
        parse("not " * (MAX_DEPTH + 1) + "is_vip")


def test_runs_on_an_empty_table():
    t = ibis.memtable(pa.table({"customer_id": pa.array([], pa.string()),
                                "orders": pa.array([], pa.int64())}))  # fmt: skip
    assert apply_filter(t, "frequency > 1").count().execute() == 0


# --- properties --------------------------------------------------------------------------------

TOKENS = ["and", "or", "not", "in", "between", "is", "null", "true", "like", "contains",
          "(", ")", ",", "=", "!=", "<", ">=", "+", "-", "*", "/", "orders", "region", "区域",
          "monetary", "last_purchase", "is_vip", "'华东'", "'2024-01-01'", "1", "2.5", "`等级`",
          "'", '"', "`", "$", "（", "1e5", "0"]  # fmt: skip
garbage = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join),
    st.lists(st.sampled_from(TOKENS), max_size=12).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage)
def test_garbage_parses_or_raises_filter_syntax_error(text):
    try:
        parse(text)
    except FilterSyntaxError as err:
        assert 0 <= err.position <= len(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage)
def test_garbage_compiles_or_raises_filter_syntax_error(text):
    t = ibis.memtable(pa.table(ROWS))
    try:
        compile_filter(text, t)
    except FilterSyntaxError as err:  # any other exception fails the test
        assert 0 <= err.position <= len(text)


def _case(word: str, flip: bool) -> str:
    return word.upper() if flip else word


def _combine(children):
    both = st.tuples(children, children, st.booleans())
    return st.one_of(
        both.map(lambda x: (f"({x[0][0]}) {_case('and', x[2])} ({x[1][0]})", x[0][1] & x[1][1])),
        both.map(lambda x: (f"({x[0][0]}) {_case('or', x[2])} ({x[1][0]})", x[0][1] | x[1][1])),
        st.tuples(children, st.booleans()).map(
            lambda x: (f"{_case('not', x[1])} ({x[0][0]})", ALL - x[0][1])
        ),
        # no brackets: and binds tighter than or
        st.tuples(children, children, children).map(
            lambda x: (
                f"({x[0][0]}) or ({x[1][0]}) and ({x[2][0]})",
                x[0][1] | (x[1][1] & x[2][1]),
            )
        ),
    )


well_formed = st.recursive(st.sampled_from(ATOMS), _combine, max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(well_formed)
def test_well_formed_filters_run_on_duckdb_and_match_set_algebra(case):
    text, expected = case
    t = ibis.memtable(pa.table(ROWS))
    assert ids(t, text) == expected
