"""The web pages are served by the same app as the API: reuse its store, users and servers."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _api_fixtures():
    path = Path(__file__).parents[1] / "api" / "conftest.py"
    spec = importlib.util.spec_from_file_location("kehu_tests_api_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_api = _api_fixtures()
cheap_password_hashing = _api.cheap_password_hashing
api_store = _api.api_store
api_settings = _api.api_settings
serve_processes = _api.serve_processes
