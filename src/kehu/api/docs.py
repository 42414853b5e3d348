"""The API's documentation pages, Swagger UI (``/docs``) and ReDoc (``/redoc``), served offline.

FastAPI's default pages load their scripts from a CDN, so they are blank on a
machine without the internet; here the scripts come from the installed
``fastapi-standalone-docs`` package (Swagger UI 5 and ReDoc 2, which read OpenAPI 3.1).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles


def install(app: FastAPI, prefix: str) -> None:
    """Swagger UI at ``<prefix>/docs`` and ReDoc at ``<prefix>/redoc``, offline."""
    assets = f"{prefix}/docs-assets"
    folder = files("fastapi_standalone_docs") / "static"
    app.mount(assets, StaticFiles(directory=str(folder)), name="docs_assets")

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{prefix}/openapi.json",
            title="kehu API",
            swagger_js_url=f"{assets}/swagger/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger/swagger-ui.css",
            swagger_favicon_url="data:,",
        )

    @app.get(f"{prefix}/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=f"{prefix}/openapi.json",
            title="kehu API",
            redoc_js_url=f"{assets}/redoc/redoc.standalone.js",
            redoc_favicon_url="data:,",
            with_google_fonts=False,
        )
