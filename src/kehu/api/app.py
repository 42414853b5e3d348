"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from kehu.api import contract, docs, errors
from kehu.api.routers import (
    audit,
    auth,
    campaigns,
    customers,
    feedback,
    interactions,
    loyalty,
    orders,
    runs,
    surveys,
    targets,
    tasks,
    users,
)
from kehu.store.engine import make_engine, session_factory
from kehu.store.settings import StoreSettings

log = logging.getLogger("kehu.api")
#: the REST API's place; the web pages own ``/``
API_PREFIX = "/api/v1"


class Health(BaseModel):
    status: str
    database: str


def create_app(settings: StoreSettings | None = None) -> FastAPI:
    """Build the API over the store described by ``settings`` (default: from the environment).

    With ``settings.refresh_minutes`` a refresh runs on that schedule while the
    app is up; a failed scheduled refresh is logged and recorded as a failed run.
    """
    settings = settings or StoreSettings.from_env()
    engine = make_engine(settings.url)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from kehu.services.refresh import recover_interrupted

        # runs left 'running' by a process that was killed: failed, interrupted
        await asyncio.to_thread(recover_interrupted, app.state.sessions)
        task = None
        if settings.refresh_minutes:
            task = asyncio.create_task(_refresh_loop(app, settings.refresh_minutes))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            engine.dispose()

    app = FastAPI(
        title="kehu 客户分类管理 API",
        version="1",
        description=(
            "Customers, classes, orders and runs of the kehu store. Authenticate with "
            f"`POST {API_PREFIX}/auth/token` (user name and password) and send "
            "`Authorization: Bearer <token>`. Errors are JSON "
            '`{"error": {"code", "message"}}` with a stable code.'
        ),
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served offline below, from an installed package
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    errors.install(app)
    contract.install(app)  # OPTIONS, 405 with the path's whole Allow, one value per parameter
    api = APIRouter(prefix=API_PREFIX)
    for module in (auth, users, customers, orders, runs, audit):
        api.include_router(module.router)
    for module in (interactions, tasks, feedback, surveys):
        api.include_router(module.router)
    for module in (loyalty, campaigns):
        api.include_router(module.router)
    api.include_router(targets.router)

    @api.get("/health", response_model=Health, tags=["health"])
    def health() -> Health:
        """Liveness: the API answers and which database it uses (no secrets)."""
        return Health(status="ok", database=engine.dialect.name)

    app.include_router(api)
    docs.install(app, API_PREFIX)

    from kehu import web

    web.mount(app)
    return app


async def _refresh_loop(app: FastAPI, minutes: int) -> None:
    from kehu.exceptions import ConflictError, KehuError
    from kehu.services.refresh import refresh

    while True:
        await asyncio.sleep(minutes * 60)
        try:
            await asyncio.to_thread(refresh, app.state.sessions)
        except ConflictError as exc:  # another worker's refresh is running: skip this turn
            log.info("scheduled refresh skipped: %s", exc)
        except KehuError as exc:  # recorded as a failed run; the refresh logged the detail
            log.warning("scheduled refresh failed: %s", exc)
        except Exception:  # keep the schedule going whatever happened
            log.exception("scheduled refresh failed")
