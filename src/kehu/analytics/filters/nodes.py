"""The filter's syntax tree: one frozen node class per construct."""

from __future__ import annotations

from dataclasses import dataclass


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
