"""Size limits (issue 11): no module over 500 lines, no function over 80 without a reason.

A function may be longer when a comment at its top says why: a line ``# long: <reason>``
just above the ``def`` (or its decorators), or between the signature and the end of the
docstring.  The lists below name what is still over the limit; they may only shrink: an entry that
is no longer over the limit fails the test until it is removed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kehu

SRC = Path(kehu.__file__).resolve().parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
MARKER = "# long:"

#: exempt by nature: a migration is a record of the schema as it was, written once and
#: never refactored (0001 creates every table in one generated-style function)
EXEMPT_FOLDERS = ("store/migrations/versions/",)

#: modules over 500 lines (none now); a new one needs a split, not an entry here
MODULES_OVER_LIMIT: set[str] = set()

#: functions over 80 lines without a reason, as "module::qualified name" (none now)
FUNCTIONS_OVER_LIMIT: set[str] = set()


def _modules() -> list[tuple[str, str]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if not name.startswith(EXEMPT_FOLDERS):
            out.append((name, path.read_text(encoding="utf-8")))
    return out


def _functions(tree: ast.Module):
    """``(qualified name, node)`` of every function and method, nested ones too."""
    todo: list[tuple[str, ast.AST]] = [("", tree)]
    while todo:
        prefix, node = todo.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    yield name, child
                todo.append((f"{name}.", child))
            else:
                todo.append((prefix, child))


def _has_reason(lines: list[str], fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A ``# long: <reason>`` line above the def or before the end of its docstring."""
    first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
    head = fn.body[0]
    docstring = isinstance(head, ast.Expr) and isinstance(head.value, ast.Constant)
    last = head.end_lineno if docstring else head.lineno - 1
    for line in lines[max(first - 2, 0) : last]:
        text = line.strip()
        if text.startswith(MARKER) and text[len(MARKER) :].strip():
            return True
    return False


def _sizes() -> tuple[dict[str, int], dict[str, int]]:
    modules, functions = {}, {}
    for name, text in _modules():
        lines = text.splitlines()
        if len(lines) > MAX_MODULE_LINES:
            modules[name] = len(lines)
        for qualname, fn in _functions(ast.parse(text)):
            size = fn.end_lineno - fn.lineno + 1
            if size > MAX_FUNCTION_LINES and not _has_reason(lines, fn):
                functions[f"{name}::{qualname}"] = size
    return modules, functions


@pytest.fixture(scope="module")
def sizes():
    return _sizes()


def test_no_module_over_the_limit(sizes):
    modules, _ = sizes
    new = {m: n for m, n in modules.items() if m not in MODULES_OVER_LIMIT}
    assert not new, f"modules over {MAX_MODULE_LINES} lines; split them by what they do: {new}"


def test_no_function_over_the_limit_without_a_reason(sizes):
    _, functions = sizes
    new = {f: n for f, n in functions.items() if f not in FUNCTIONS_OVER_LIMIT}
    assert not new, (
        f"functions over {MAX_FUNCTION_LINES} lines; split them into named steps, or write "
        f"'{MARKER} <reason>' at the top: {new}"
    )


def test_the_lists_of_exceptions_only_shrink(sizes):
    modules, functions = sizes
    done = sorted((MODULES_OVER_LIMIT - set(modules)) | (FUNCTIONS_OVER_LIMIT - set(functions)))
    assert not done, f"now within the limit (or gone): remove from the lists in this test: {done}"


def test_the_reason_marker_is_found():
    source = "def f():\n    # long: one table of cases reads best whole\n    return 1\n"
    fn = ast.parse(source).body[0]
    assert _has_reason(source.splitlines(), fn)
    bare = "def f():\n    # long:\n    return 1\n"
    assert not _has_reason(bare.splitlines(), ast.parse(bare).body[0])
