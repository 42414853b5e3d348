"""A small, safe filter language compiled to Ibis boolean expressions.

Business users write filters such as::

    frequency >= 4 and region = '华东'
    rfm8 in ('重要价值客户', '重要保持客户')
    monetary between 1000 and 5000 and not channel = '电商'
    last_purchase < '2024-01-01'
    top_category is null
    name contains '超市'   /   name like '%超市%'

The text is tokenized and parsed by hand into an AST (:func:`parse`), then the
AST is compiled against a table's schema into an Ibis expression
(:func:`compile_filter`).  Nothing is ever evaluated as Python code or pasted
into SQL, so a filter can only read the table's columns.

Grammar (keywords are case-insensitive; precedence ``not`` > ``and`` > ``or``)::

    filter     := or_expr EOF
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | predicate
    predicate  := sum [ cmp_op sum
                      | ["not"] "in" "(" literal ("," literal)* ")"
                      | ["not"] "between" sum "and" sum
                      | "is" ["not"] "null"
                      | ["not"] "contains" sum
                      | ["not"] "like" sum ]
    cmp_op     := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | "true" | "false" | "null" | IDENT | "(" or_expr ")"

Identifiers are letters (ASCII or CJK), digits and ``_`` not starting with a
digit, or any text in backquotes (`` `my column` ``).  Natural names are
accepted through :data:`COLUMN_ALIASES` (``frequency`` → ``orders``,
``区域`` → ``region`` ...); a column that exists under the written name always
wins over an alias.

Null semantics: **two-valued**.  Every predicate is either true or false, never
null: a comparison, ``in``, ``between``, ``contains`` or ``like`` involving a
null is false, and each negative form (``!=``/``<>``, ``not in``, ``not
between``, ``not contains``, ``not like``, ``not P``) is the exact complement of
its positive form.  So ``channel != '电商'`` keeps customers whose channel is
unknown, and for any filter ``P`` the rows of ``P`` and of ``not P`` partition
the table.  Use ``is null`` / ``is not null`` to select on missing values; a
comparison with the ``null`` literal is an error that says so.

Types are checked against the table's schema: comparing text with a number is
an error; a string literal compared with a date or timestamp column is parsed
as a date (``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYY年M月D日``, optionally followed
by a time for timestamps), and a string that is not a date is an error.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir

from kehu.exceptions import FilterSyntaxError

__all__ = [
    "COLUMN_ALIASES",
    "Between",
    "BinaryOp",
    "Column",
    "Compare",
    "InList",
    "IsNull",
    "Literal",
    "Logical",
    "Match",
    "Negate",
    "Node",
    "Not",
    "apply_filter",
    "columns_used",
    "compile_filter",
    "parse",
]

#: Natural names business users may write, mapped to canonical column names.
#: Keys are matched case-insensitively; the single place to add more.
COLUMN_ALIASES: dict[str, str] = {
    "frequency": "orders",
    "recency": "recency_days",
    "monetary": "monetary",
    "spend": "monetary",
    "aov": "avg_order_value",
    "频次": "orders",
    "购买次数": "orders",
    "最近购买天数": "recency_days",
    "消费金额": "monetary",
    "客单价": "avg_order_value",
    "区域": "region",
    "地区": "region",
    "省份": "province",
    "城市": "city",
    "渠道": "channel",
    "首次购买日期": "first_purchase",
    "最近购买日期": "last_purchase",
    "客户名称": "name",
    "性别": "gender",
    "年龄段": "age_band",
}

_KEYWORDS = frozenset(
    {"and", "or", "not", "in", "between", "is", "null", "true", "false", "contains", "like"}
)
_OPERATORS = ("==", "!=", "<>", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "(", ")", ",")
_FULL_WIDTH_HINTS = {
    "（": "(",
    "）": ")",
    "，": ",",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "＝": "=",
    "＞": ">",
    "＜": "<",
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}
#: Deepest nesting accepted, of brackets / ``not`` / minus and of the AST (bounds recursion).
MAX_DEPTH = 64
_INT64_MAX = 2**63 - 1


# --- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "ident", "number", "string", "kw", "op", "eof"
    value: Any
    pos: int
    end: int


def _is_ident_char(ch: str) -> bool:
    # str.isalnum covers ASCII and CJK letters and digits; full-width punctuation is excluded.
    return ch == "_" or ch.isalnum()


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "'\"":
            value, end = _read_string(text, i)
            tokens.append(_Token("string", value, i, end))
            i = end
        elif ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise FilterSyntaxError("unclosed backquoted name", text, i)
            if end == i + 1:
                raise FilterSyntaxError("empty backquoted name", text, i)
            tokens.append(_Token("ident", text[i + 1 : end], i, end + 1))
            i = end + 1
        elif ch.isascii() and ch.isdigit():
            value, end = _read_number(text, i)
            tokens.append(_Token("number", value, i, end))
            i = end
        elif _is_ident_char(ch) and not ch.isdigit():
            end = i
            while end < n and _is_ident_char(text[end]):
                end += 1
            word = text[i:end]
            if word.lower() in _KEYWORDS:
                tokens.append(_Token("kw", word.lower(), i, end))
            else:
                tokens.append(_Token("ident", word, i, end))
            i = end
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                hint = _FULL_WIDTH_HINTS.get(ch)
                extra = f"; use the ASCII {hint!r} instead" if hint else ""
                raise FilterSyntaxError(f"unexpected character {ch!r}{extra}", text, i)
            tokens.append(_Token("op", op, i, i + len(op)))
            i += len(op)
    tokens.append(_Token("eof", None, n, n))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    """A quoted string from ``start``; backslash escapes and doubled quotes."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        elif ch == quote:
            if text.startswith(quote, i + 1):  # SQL style: '' inside '...'
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise FilterSyntaxError("unclosed string", text, start)


def _read_number(text: str, start: int) -> tuple[int | float, int]:
    m = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?").match(text, start)
    assert m is not None  # called on a digit
    end = m.end()
    if end < len(text) and (_is_ident_char(text[end]) or text[end] == "."):
        raise FilterSyntaxError(f"unexpected character {text[end]!r} in a number", text, end)
    raw = m.group(0)
    if m.group(1) or m.group(2):
        value: int | float = float(raw)
        if value == float("inf"):
            raise FilterSyntaxError("number out of range", text, start)
        return value, end
    value = int(raw)
    if value > _INT64_MAX:
        raise FilterSyntaxError("integer out of range (at most 2**63 - 1)", text, start)
    return value, end


# --- the AST ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """Base of the AST nodes; ``pos`` is the 0-based offset where the node starts."""

    pos: int


@dataclass(frozen=True)
class Column(Node):
    name: str


@dataclass(frozen=True)
class Literal(Node):
    value: int | float | str | bool | None


@dataclass(frozen=True)
class Negate(Node):
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class BinaryOp(Node):
    """Arithmetic: ``+ - * /``."""

    op: str
    left: Node
    right: Node
    op_pos: int


@dataclass(frozen=True)
class Compare(Node):
    """``= != < <= > >=`` (``==`` is stored as ``=`` and ``<>`` as ``!=``)."""

    op: str
    left: Node
    right: Node
    op_pos: int


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool


@dataclass(frozen=True)
class Match(Node):
    """``contains`` (substring) or ``like`` (SQL pattern with ``%`` and ``_``)."""

    kind: str
    operand: Node
    pattern: Node
    negated: bool


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Logical(Node):
    """``and`` / ``or`` over two or more operands."""

    op: str
    operands: tuple[Node, ...]


# --- the parser ------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.heights: dict[int, int] = {}

    # token helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _next(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def _is(self, kind: str, *values: Any) -> bool:
        return self.tok.kind == kind and (not values or self.tok.value in values)

    def _peek_is(self, offset: int, kind: str, value: Any) -> bool:
        tok = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return tok.kind == kind and tok.value == value

    def _error(self, message: str, tok: _Token | None = None) -> FilterSyntaxError:
        tok = tok or self.tok
        return FilterSyntaxError(message, self.text, tok.pos)

    def _expected(self, what: str) -> FilterSyntaxError:
        tok = self.tok
        if tok.kind == "eof":
            return self._error(f"expected {what}, but the filter ends here")
        return self._error(f"expected {what}, found {self.text[tok.pos : tok.end]!r}")

    def _enter(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._error(f"filter nested too deeply (more than {MAX_DEPTH} levels)", tok)

    def _node(self, node: Node) -> Node:
        """Record the height of a new node; a tree too tall would exhaust recursion later."""
        height = 1 + max((self.heights.get(id(c), 1) for c in _children(node)), default=0)
        if height > MAX_DEPTH:
            raise FilterSyntaxError(
                f"filter nested too deeply (more than {MAX_DEPTH} levels)", self.text, node.pos
            )
        self.heights[id(node)] = height
        return node

    # grammar
    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise FilterSyntaxError("empty filter", self.text, 0)
        node = self._or()
        if self.tok.kind != "eof":
            if self._is("op", ")"):
                raise self._error("unmatched closing parenthesis")
            raise self._expected("'and', 'or' or the end of the filter")
        return node

    def _or(self) -> Node:
        first = self._and()
        parts = [first]
        while self._is("kw", "or"):
            self._next()
            parts.append(self._and())
        return first if len(parts) == 1 else self._node(Logical(first.pos, "or", tuple(parts)))

    def _and(self) -> Node:
        first = self._not()
        parts = [first]
        while self._is("kw", "and"):
            self._next()
            parts.append(self._not())
        return first if len(parts) == 1 else self._node(Logical(first.pos, "and", tuple(parts)))

    def _not(self) -> Node:
        if self._is("kw", "not"):
            tok = self._next()
            self._enter(tok)
            node = self._node(Not(tok.pos, self._not()))
            self.depth -= 1
            return node
        return self._predicate()

    def _predicate(self) -> Node:
        left = self._sum()
        tok = self.tok
        if tok.kind == "op" and tok.value in ("=", "==", "!=", "<>", "<", "<=", ">", ">="):
            self._next()
            op = {"==": "=", "<>": "!="}.get(tok.value, tok.value)
            return self._node(Compare(left.pos, op, left, self._sum(), tok.pos))
        if self._is("kw", "is"):
            self._next()
            negated = self._is("kw", "not")
            if negated:
                self._next()
            if not self._is("kw", "null"):
                raise self._expected("'null' after 'is'" + (" not" if negated else ""))
            self._next()
            return self._node(IsNull(left.pos, left, negated))
        negated = False
        if self._is("kw", "not") and self.tokens[self.i + 1].kind == "kw":
            nxt = self.tokens[self.i + 1].value
            if nxt in ("in", "between", "contains", "like"):
                self._next()
                negated = True
        if self._is("kw", "in"):
            self._next()
            return self._node(InList(left.pos, left, self._literal_list(), negated))
        if self._is("kw", "between"):
            self._next()
            low = self._sum()
            if not self._is("kw", "and"):
                raise self._expected("'and' in 'between ... and ...'")
            self._next()
            return self._node(Between(left.pos, left, low, self._sum(), negated))
        if self._is("kw", "contains", "like"):
            kind = self._next().value
            return self._node(Match(left.pos, kind, left, self._sum(), negated))
        return left

    def _literal_list(self) -> tuple[Literal, ...]:
        if not self._is("op", "("):
            raise self._expected("'(' to start the list after 'in'")
        open_tok = self._next()
        items: list[Literal] = []
        while True:
            items.append(self._literal())
            if self._is("op", ","):
                self._next()
                continue
            if self._is("op", ")"):
                self._next()
                return tuple(items)
            if self.tok.kind == "eof":
                raise self._error("unclosed parenthesis", open_tok)
            raise self._expected("',' or ')' in the list")

    def _literal(self) -> Literal:
        tok = self.tok
        sign = 1
        if self._is("op", "-"):
            self._next()
            sign = -1
            if self.tok.kind != "number":
                raise self._expected("a number after '-'")
        if self.tok.kind in ("number", "string"):
            value = self._next().value
            return Literal(tok.pos, -value if sign < 0 else value)
        if self._is("kw", "true", "false", "null"):
            word = self._next().value
            return Literal(tok.pos, {"true": True, "false": False, "null": None}[word])
        raise self._expected("a literal value (number, string, true, false or null)")

    def _sum(self) -> Node:
        left = self._product()
        while self._is("op", "+", "-"):
            tok = self._next()
            left = self._node(BinaryOp(left.pos, tok.value, left, self._product(), tok.pos))
        return left

    def _product(self) -> Node:
        left = self._unary()
        while self._is("op", "*", "/"):
            tok = self._next()
            left = self._node(BinaryOp(left.pos, tok.value, left, self._unary(), tok.pos))
        return left

    def _unary(self) -> Node:
        if self._is("op", "-"):
            tok = self._next()
            self._enter(tok)
            operand = self._unary()
            self.depth -= 1
            value = operand.value if isinstance(operand, Literal) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                return Literal(tok.pos, -value)
            return self._node(Negate(tok.pos, operand))
        return self._primary()

    def _primary(self) -> Node:
        tok = self.tok
        if tok.kind in ("number", "string"):
            self._next()
            return Literal(tok.pos, tok.value)
        if tok.kind == "ident":
            self._next()
            return Column(tok.pos, tok.value)
        if self._is("kw", "true", "false", "null"):
            self._next()
            return Literal(tok.pos, {"true": True, "false": False, "null": None}[tok.value])
        if self._is("op", "("):
            self._next()
            self._enter(tok)
            node = self._or()
            self.depth -= 1
            if not self._is("op", ")"):
                if self.tok.kind == "eof":
                    raise self._error("unclosed parenthesis", tok)
                raise self._expected("')'")
            self._next()
            return node
        if tok.kind == "kw":
            raise self._error(f"unexpected keyword {tok.value!r}; expected a column or a value")
        if tok.kind == "eof":
            raise self._expected("a column or a value")
        raise self._expected("a column or a value")


def parse(text: str) -> Node:
    """Parse a filter into its AST.

    Raises
    ------
    FilterSyntaxError
        With the 0-based position of the problem.

    Examples
    --------
    >>> parse("orders >= 4").op
    '>='
    >>> parse("orders >= 4").left
    Column(pos=0, name='orders')
    """
    if not isinstance(text, str):
        raise FilterSyntaxError(f"a filter must be text, got {type(text).__name__}", "", 0)
    return _Parser(text).parse()


# --- columns ---------------------------------------------------------------------------------


def _children(node: Node) -> list[Node]:
    out: list[Node] = []
    for value in vars(node).values():
        if isinstance(value, Node):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(item for item in value if isinstance(item, Node))
    return out


def _walk(node: Node):
    yield node
    for child in _children(node):
        yield from _walk(child)


def _canonical(name: str, available: list[str] | None) -> str | None:
    """The column a written name refers to, or None when ``available`` lacks it."""
    if available is not None and name in available:
        return name  # a real column of that name wins over an alias
    target = COLUMN_ALIASES.get(name.lower(), name)
    if available is None or target in available:
        return target
    return None


def columns_used(text: str, table: ir.Table | None = None) -> set[str]:
    """Canonical names of the columns a filter reads (aliases resolved).

    Without ``table`` the alias table alone decides; with it, a column that
    exists under the written name wins (as in :func:`compile_filter`) and an
    unknown column raises :class:`FilterSyntaxError`.
    """
    available = list(table.columns) if table is not None else None
    out: set[str] = set()
    for node in _walk(parse(text)):
        if isinstance(node, Column):
            name = _canonical(node.name, available)
            if name is None:
                raise _unknown_column(text, node, available or [])
            out.add(name)
    return out


def _unknown_column(text: str, node: Column, available: list[str]) -> FilterSyntaxError:
    names = available + [a for a, c in COLUMN_ALIASES.items() if c in available]
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(node.name.lower(), list(lowered), n=1, cutoff=0.6)
    hint = f"; did you mean {lowered[close[0]]!r}?" if close else ""
    listing = ", ".join(available) or "(none)"
    return FilterSyntaxError(
        f"unknown column {node.name!r}{hint} Available columns: {listing}", text, node.pos
    )


# --- the compiler ----------------------------------------------------------------------------

_KIND_NAMES = {
    "number": "a number",
    "string": "text",
    "boolean": "true/false",
    "date": "a date",
    "timestamp": "a timestamp",
    "null": "null",
    "other": "an unsupported type",
}


@dataclass(frozen=True)
class _Val:
    """A compiled operand: an Ibis expression, or a literal not yet typed."""

    expr: ir.Value | None
    kind: str
    pos: int
    literal: Any = None
    is_literal: bool = False
    what: str = ""  # how to name it in messages


def _kind_of(dtype: dtypes.DataType) -> str:
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_numeric():
        return "number"
    if dtype.is_string():
        return "string"
    if dtype.is_timestamp():
        return "timestamp"
    if dtype.is_date():
        return "date"
    if dtype.is_null():
        return "null"
    return "other"


def _literal_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


_DATE_RE = re.compile(
    r"^\s*(\d{4})(?:-|/|\.|年)(\d{1,2})(?:-|/|\.|月)(\d{1,2})日?"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*$"
)


def _parse_temporal(text: str, val: _Val, kind: str) -> dt.date | dt.datetime:
    m = _DATE_RE.match(val.literal)
    expected = "YYYY-MM-DD" if kind == "date" else "YYYY-MM-DD [HH:MM[:SS]]"
    bad = FilterSyntaxError(
        f"{val.literal!r} is not a valid {kind} (expected {expected})", text, val.pos
    )
    if m is None:
        raise bad
    y, mo, d, hh, mi, ss, frac = m.groups()
    if hh is not None and kind == "date":
        raise FilterSyntaxError(
            f"{val.literal!r} has a time, but it is compared with a date column", text, val.pos
        )
    try:
        day = dt.date(int(y), int(mo), int(d))
        if kind == "date":
            return day
        micro = int((frac or "0").ljust(6, "0"))
        return dt.datetime(
            day.year, day.month, day.day, int(hh or 0), int(mi or 0), int(ss or 0), micro
        )
    except ValueError:  # out-of-range month, day, hour...
        raise bad from None


class _Compiler:
    def __init__(self, text: str, table: ir.Table):
        self.text = text
        self.table = table
        self.columns = list(table.columns)

    def error(self, message: str, pos: int) -> FilterSyntaxError:
        return FilterSyntaxError(message, self.text, pos)

    # predicates: always non-null booleans (see the module docstring)
    def predicate(self, node: Node) -> ir.BooleanValue:
        if isinstance(node, Logical):
            parts = [self.predicate(p) for p in node.operands]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if node.op == "and" else (out | p)
            return out
        if isinstance(node, Not):
            return ~self.predicate(node.operand)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, Between):
            return self.between(node)
        if isinstance(node, IsNull):
            v = self.value(node.operand)
            if v.is_literal:
                return ibis.literal((v.literal is None) != node.negated)
            return v.expr.notnull() if node.negated else v.expr.isnull()
        if isinstance(node, Match):
            return self.match(node)
        v = self.value(node)
        if v.kind == "null":
            return ibis.literal(False)
        if v.kind != "boolean":
            raise self.error(
                f"{v.what} is {_KIND_NAMES[v.kind]}, not a condition; "
                "compare it with something (e.g. '= ...', '> ...')",
                v.pos,
            )
        expr = v.expr if v.expr is not None else ibis.literal(v.literal)
        return expr.fill_null(False)

    def compare(self, node: Compare) -> ir.BooleanValue:
        left, right = self.value(node.left), self.value(node.right)
        for side in (left, right):
            if side.kind == "null":
                suggestion = "is not null" if node.op == "!=" else "is null"
                raise self.error(
                    f"comparing with null is never true; write '{suggestion}' instead", side.pos
                )
        lx, rx = self.unify(left, right, right.pos)
        if left.kind == "boolean" and node.op not in ("=", "!="):
            raise self.error(f"'{node.op}' cannot order true/false values", node.op_pos)
        if node.op == "!=":
            return ~(lx == rx).fill_null(False)
        ops = {
            "=": lambda a, b: a == b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        return ops[node.op](lx, rx).fill_null(False)

    def in_list(self, node: InList) -> ir.BooleanValue:
        operand = self.value(node.operand)
        items = [self.value(item) for item in node.items]
        non_null = [it for it in items if it.kind != "null"]
        if not non_null:
            raise self.error("the list has only nulls; use 'is null' instead", node.items[0].pos)
        exprs = [self.unify(operand, it, it.pos)[1] for it in non_null]
        lx = self.unify(operand, non_null[0], non_null[0].pos)[0]
        # a null in the list never matches (two-valued semantics); it is simply dropped
        positive = lx.isin(exprs).fill_null(False)
        return ~positive if node.negated else positive

    def between(self, node: Between) -> ir.BooleanValue:
        operand, low, high = (self.value(n) for n in (node.operand, node.low, node.high))
        for side in (low, high):
            if side.kind == "null":
                raise self.error("'between' needs two non-null bounds", side.pos)
        lx, lo = self.unify(operand, low, low.pos)
        _, hi = self.unify(operand, high, high.pos)
        if operand.kind == "boolean":
            raise self.error("'between' cannot order true/false values", node.pos)
        positive = lx.between(lo, hi).fill_null(False)
        return ~positive if node.negated else positive

    def match(self, node: Match) -> ir.BooleanValue:
        operand, pattern = self.value(node.operand), self.value(node.pattern)
        for side in (operand, pattern):
            if side.kind not in ("string", "null"):
                raise self.error(
                    f"'{node.kind}' works on text, but {side.what} is {_KIND_NAMES[side.kind]}",
                    side.pos,
                )
        if pattern.kind == "null" or operand.kind == "null":
            return ibis.literal(node.negated)
        ox, px = self.unify(operand, pattern, pattern.pos)
        positive = ox.contains(px) if node.kind == "contains" else ox.like(px)
        positive = positive.fill_null(False)
        return ~positive if node.negated else positive

    # values
    def value(self, node: Node) -> _Val:
        if isinstance(node, Literal):
            kind = _literal_kind(node.value)
            return _Val(None, kind, node.pos, node.value, True, repr(node.value))
        if isinstance(node, Column):
            name = _canonical(node.name, self.columns)
            if name is None:
                raise _unknown_column(self.text, node, self.columns)
            col = self.table[name]
            what = f"column {name!r}" if name == node.name else f"{node.name!r} ({name})"
            return _Val(col, _kind_of(col.type()), node.pos, what=what)
        if isinstance(node, Negate):
            v = self.value(node.operand)
            self.need_number(v, "'-'")
            return _Val(-self.materialize(v), "number", node.pos, what="the negated value")
        if isinstance(node, BinaryOp):
            left, right = self.value(node.left), self.value(node.right)
            self.need_number(left, f"'{node.op}'")
            self.need_number(right, f"'{node.op}'")
            lx, rx = self.materialize(left), self.materialize(right)
            if node.op == "+":
                out = lx + rx
            elif node.op == "-":
                out = lx - rx
            elif node.op == "*":
                out = lx * rx
            else:  # division by zero gives null (so false), the same on every engine
                out = lx / rx.nullif(0)
            return _Val(out, "number", node.pos, what="the arithmetic result")
        # a condition used as a value, e.g. (a = 1) = true
        return _Val(self.predicate(node), "boolean", node.pos, what="the condition")

    def need_number(self, v: _Val, op: str) -> None:
        if v.kind != "number":
            raise self.error(f"{op} needs numbers, but {v.what} is {_KIND_NAMES[v.kind]}", v.pos)

    @staticmethod
    def materialize(v: _Val) -> ir.Value:
        return v.expr if v.expr is not None else ibis.literal(v.literal)

    def unify(self, a: _Val, b: _Val, pos: int) -> tuple[ir.Value, ir.Value]:
        """Both operands as Ibis values of compatible types, or a type error at ``pos``."""
        if "other" in (a.kind, b.kind):
            bad = a if a.kind == "other" else b
            raise self.error(f"{bad.what} has a type filters cannot compare", bad.pos)
        temporal = ("date", "timestamp")
        if a.kind in temporal or b.kind in temporal:
            col, lit = (a, b) if a.kind in temporal else (b, a)
            if lit.is_literal and lit.kind == "string":
                value = _parse_temporal(self.text, lit, col.kind)
                lit_expr = ibis.literal(value, type=col.expr.type())
                return (col.expr, lit_expr) if col is a else (lit_expr, col.expr)
            if lit.kind in temporal:
                ax, bx = a.expr, b.expr
                if a.kind != b.kind:  # a date against a timestamp: compare as timestamps
                    ax, bx = ax.cast("timestamp"), bx.cast("timestamp")
                return ax, bx
            raise self.error(
                f"type mismatch: {col.what} is {_KIND_NAMES[col.kind]} but {lit.what} is "
                f"{_KIND_NAMES[lit.kind]} (write dates as 'YYYY-MM-DD')",
                pos,
            )
        if a.kind != b.kind:
            raise self.error(
                f"type mismatch: {a.what} is {_KIND_NAMES[a.kind]} but {b.what} is "
                f"{_KIND_NAMES[b.kind]}",
                pos,
            )
        if a.is_literal and not b.is_literal:
            return ibis.literal(a.literal, type=_literal_type(a)), b.expr
        if b.is_literal and not a.is_literal:
            return a.expr, ibis.literal(b.literal, type=_literal_type(b))
        return self.materialize(a), self.materialize(b)


def _literal_type(lit: _Val) -> dtypes.DataType:
    """Explicit type of a literal, so that Ibis never guesses a narrower one."""
    if lit.kind == "string":
        return dtypes.string
    if lit.kind == "boolean":
        return dtypes.boolean
    return dtypes.float64 if isinstance(lit.literal, float) else dtypes.int64


def compile_filter(text: str, table: ir.Table) -> ir.BooleanValue:
    """Compile a filter against ``table``'s schema into an Ibis boolean expression.

    The result is never null (see the module docstring for the semantics).

    Raises
    ------
    FilterSyntaxError
        Syntax errors, unknown columns and type mismatches, with their position.
    """
    return _Compiler(text, table).predicate(parse(text))


def apply_filter(table: ir.Table, text: str) -> ir.Table:
    """Rows of ``table`` for which the filter holds.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"orders": [1, 5], "region": ["华东", "华东"]})
    >>> apply_filter(t, "frequency >= 4 and 区域 = '华东'").to_pandas().orders.tolist()
    [5]
    """
    return table.filter(compile_filter(text, table))
