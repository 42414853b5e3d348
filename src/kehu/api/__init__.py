"""The REST API (FastAPI): ``create_app(settings)`` builds it over the store."""

from kehu.api.app import create_app

__all__ = ["create_app"]
