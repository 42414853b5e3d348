"""The filter text as tokens: identifiers, strings, numbers, operators and keywords."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kehu.exceptions import FilterSyntaxError

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


_INT64_MAX = 2**63 - 1


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
