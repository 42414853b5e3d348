"""The curated namespace: every public name resolves, and nothing heavy loads on import."""

from __future__ import annotations

import subprocess
import sys

import kehu


def test_every_public_name_resolves():
    for name in kehu.__all__:
        assert getattr(kehu, name) is not None, name


def test_all_is_unique_and_matches_the_lazy_table():
    assert len(kehu.__all__) == len(set(kehu.__all__))
    lazy = set(kehu._LAZY)
    assert lazy <= set(kehu.__all__)
    assert {n for n in kehu.__all__ if n not in lazy} == {
        n for n in dir(kehu.exceptions) if n.endswith("Error")
    } | {"__version__"}


def test_unknown_name_is_an_attribute_error():
    try:
        kehu.nope  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_light():
    code = "import kehu, sys; print(any(m.startswith(('ibis', 'sklearn')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_exceptions_subclass_builtins():
    assert issubclass(kehu.SchemaError, ValueError)
    assert issubclass(kehu.NotFoundError, KeyError)
    assert issubclass(kehu.NotFittedError, RuntimeError)
