"""The API's documentation pages work offline: every script and style they load is served here."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_documentation_pages_load_nothing_from_elsewhere(client, page):
    html = client.get(f"/{page}").text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    urls += re.findall(r"""url: ?["']([^"']+)["']""", html)
    assert urls
    for url in urls:
        if url.startswith("data:"):
            continue
        assert url.startswith("/api/v1/"), url  # no CDN, no other host
        assert client.get(url.removeprefix("/api/v1")).status_code == 200, url
    assert "/api/v1/openapi.json" in html
