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

from kehu.analytics.filters.columns import COLUMN_ALIASES, columns_used
from kehu.analytics.filters.compiler import apply_filter, compile_filter
from kehu.analytics.filters.nodes import (
    Between,
    BinaryOp,
    Column,
    Compare,
    InList,
    IsNull,
    Literal,
    Logical,
    Match,
    Negate,
    Node,
    Not,
)
from kehu.analytics.filters.parser import MAX_DEPTH, parse

__all__ = [
    "COLUMN_ALIASES",
    "MAX_DEPTH",
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
