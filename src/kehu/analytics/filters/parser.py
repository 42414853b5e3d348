"""The recursive-descent parser of the filter grammar (see the package's docstring)."""

from __future__ import annotations

from typing import Any

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
    _children,
)
from kehu.analytics.filters.tokens import _Token, _tokenize
from kehu.exceptions import FilterSyntaxError

#: Deepest nesting accepted, of brackets / ``not`` / minus and of the AST (bounds recursion).
MAX_DEPTH = 64


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
