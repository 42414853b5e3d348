"""Domain errors. Every error a user can cause is a :class:`KehuError`.

The CLI prints ``str(error)`` as one line (never a traceback) for these; the
library raises them with enough detail to act on: what is wrong and where
(file, row, column, position).  Each subclasses the matching builtin so that
callers can also catch ``ValueError``/``KeyError`` as usual.
"""

from __future__ import annotations


class KehuError(Exception):
    """Base class of every expected error in kehu."""


class SchemaError(KehuError, ValueError):
    """A table lacks a required column or a column has the wrong type."""


class DataImportError(KehuError, ValueError):
    """A file cannot be imported (unreadable, unknown format, no usable rows)."""


class ConfigError(KehuError, ValueError):
    """A configuration file or option is invalid."""


class FilterSyntaxError(KehuError, ValueError):
    """A user-written filter is malformed.

    ``position`` is the 0-based character offset of the problem in ``text``;
    the message shows the filter with a caret under that position.
    """

    def __init__(self, message: str, text: str, position: int):
        self.text = text
        self.position = position
        self.reason = message
        caret = " " * _display_width(text[:position]) + "^"
        super().__init__(f"{message} (at position {position})\n  {text}\n  {caret}")


class NotFittedError(KehuError, RuntimeError):
    """An estimator was used before ``fit``."""


class NotFoundError(KehuError, KeyError):
    """A customer, run or other named object does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else "not found"


class ModelFileError(ConfigError, SchemaError):
    """A saved model file cannot be loaded: not a kehu model, damaged, of another kind or version.

    Both a :class:`ConfigError` and a :class:`SchemaError` (the models raised
    one or the other before they shared a file format), so both still catch it.
    """


class ModelFileNotFoundError(ModelFileError, NotFoundError):
    """There is no file at the path a model was to be loaded from."""


class ConflictError(KehuError, ValueError):
    """An operation conflicts with existing state (e.g. a published grade run)."""


class AuthenticationError(KehuError, PermissionError):
    """No valid credentials (HTTP 401)."""


class ForbiddenError(KehuError, PermissionError):
    """Valid credentials, but the role may not do this (HTTP 403)."""


class RateLimitError(KehuError, RuntimeError):
    """Too many attempts; ``retry_after`` is in seconds (HTTP 429)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def _display_width(text: str) -> int:
    """Terminal width of ``text``: CJK characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
