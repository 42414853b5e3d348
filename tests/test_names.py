"""The shared names exist once (:mod:`kehu.names`): no module spells out a second copy.

A second copy is a literal tuple, list, set or renaming dict in ``src/kehu`` that names
nearly all of one of the lists: six or more class columns, twelve or more customer fields,
six or more of the 8 RFM classes.  Smaller groups (the columns a list shows, a rule about
a few classes) are subsets, not copies.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kehu import names

SRC = Path(names.__file__).resolve().parent
LISTS = {
    "class columns": (set(names.CLASS_COLUMNS), 6),
    "customer fields": (
        set(names.STORE_CUSTOMER_FIELDS) | set(names.IMPORTED_CUSTOMER_FIELDS),
        12,
    ),
    "8 RFM classes": (set(names.RFM8_EN), 6),
}
#: files whose literals are not a copy: the shared list itself, and the first migration, which
#: writes the tables as they were then (a migration never changes with the code)
EXEMPT = {"names.py", "store/migrations/versions/0001_initial_store.py"}


def _literals(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = node.elts
        elif isinstance(node, ast.Dict) and all(
            isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.values
        ):  # a renaming (name -> name); tables of labels, lengths or aliases are not copies
            items = [k for k in node.keys if k is not None]
        else:
            continue
        words = {e.value for e in items if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        if words:
            yield node.lineno, words


FILES = sorted(p for p in SRC.rglob("*.py") if str(p.relative_to(SRC)) not in EXEMPT)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SRC)) for p in FILES])
def test_no_second_copy_of_the_shared_names(path):
    copies = [
        f"line {line}: {what} ({len(words & known)} of them)"
        for line, words in _literals(ast.parse(path.read_text(encoding="utf-8")))
        for what, (known, most) in LISTS.items()
        if len(words & known) >= most
    ]
    assert not copies, f"{path.relative_to(SRC)} repeats kehu.names: {copies}"


def test_the_lists_agree_with_what_uses_them():
    from kehu.analytics.classify import RULE_CLASSIFIERS
    from kehu.analytics.classify.rfm8 import RFM8_LABELS
    from kehu.store.models import ClassificationResult, Customer

    assert set(RULE_CLASSIFIERS) == set(names.CLASS_COLUMNS)
    assert list(RFM8_LABELS) and set(RFM8_LABELS) == set(names.RFM8_EN)
    columns = set(Customer.__table__.columns.keys())
    assert {names.store_name(f) for f in names.IMPORTED_CUSTOMER_FIELDS} <= columns
    assert set(names.STORE_CUSTOMER_FIELDS) <= columns
    assert set(names.CLASS_COLUMNS) <= set(ClassificationResult.__table__.columns.keys())
