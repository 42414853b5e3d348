"""The API's interactive documentation, served offline.

FastAPI's default ``/docs`` page loads Swagger UI from a CDN, so it is blank on a
machine without the internet; here its files come from the installed
``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads OpenAPI 3.1).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles


def install(app: FastAPI, prefix: str) -> None:
    """Swagger UI at ``<prefix>/docs`` for the document at ``<prefix>/openapi.json``."""
    import swagger_ui_bundle

    assets = f"{prefix}/docs-assets"
    app.mount(assets, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs_assets")

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{prefix}/openapi.json",
            title="kehu API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
        )
