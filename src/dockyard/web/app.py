"""The FastAPI application: API, pages and live updates over one job store, one runner, one
chemistry pool (the web process runs no chemistry itself) and one change feed."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from dockyard import __version__
from dockyard.config import Settings, get_settings, require_extra
from dockyard.jobs.store import Store
from dockyard.runners import LocalRunner, Runner
from dockyard.runners.chemistry import ChemistryPool
from dockyard.runners.notify import Notifier
from dockyard.runners.reaper import Reaper
from dockyard.web.api import (
    analysis,
    archives,
    events,
    health,
    jobs,
    me,
    metrics,
    prepare,
    screens,
    shares,
    workers,
)
from dockyard.web.auth import GATE, install_auth
from dockyard.web.errors import install_error_handlers
from dockyard.web.feed import ChangeFeed
from dockyard.web.headers import SecurityHeadersMiddleware
from dockyard.web.limits import BodyLimitMiddleware
from dockyard.web.origin import SameOriginMiddleware
from dockyard.web.pages import accounts as account_pages
from dockyard.web.pages import docs as docs_pages
from dockyard.web.pages import jobs as job_pages
from dockyard.web.pages import screens as screen_pages
from dockyard.web.pages import submit
from dockyard.web.pages import workers as worker_pages
from dockyard.web.request_metrics import RequestMetricsMiddleware
from dockyard.web.schemas import error_components, error_responses

log = logging.getLogger(__name__)

WEB = files("dockyard.web")

ROUTERS = (
    archives.router,
    jobs.router,
    health.router,
    prepare.router,
    events.router,
    screens.router,
    analysis.router,
    workers.router,
    me.router,
    shares.router,
    metrics.router,
    submit.router,
    job_pages.router,
    screen_pages.router,
    worker_pages.router,
    account_pages.login_router,
    account_pages.router,
    docs_pages.router,
)
"""The API's routers, in the order of its OpenAPI document, then the pages'. The archives'
come first: ``/api/jobs/{id}/archive.zip`` would otherwise be taken for a stored file."""
OPEN_ROUTERS = (health.router, account_pages.login_router, docs_pages.router, metrics.router)
"""The routers without :data:`dockyard.web.auth.GATE`: anyone may reach them, but ``/metrics``,
which lets in its own scraper's token or an admin (:func:`dockyard.web.api.metrics.scraper`)."""


def make_runner(settings: Settings, store: Store) -> Runner:
    """RQ workers when ``DOCKYARD_REDIS_URL`` is set, else jobs run in this server's children."""
    if settings.redis_url:
        require_extra("queue", "DOCKYARD_REDIS_URL is set")
        from dockyard.runners.rq.api import RQRunner

        return RQRunner(store, settings.redis_url, settings=settings)
    return LocalRunner(
        store,
        settings.resolved_database_url,
        workers=settings.workers,
        cpu_per_job=settings.cpu_per_job,
        lease_seconds=settings.lease_seconds,
        reaper=Reaper.from_settings(
            store, settings, owner=f"serve {socket.gethostname()}:{os.getpid()}"
        ),
    )


def openapi_with_errors(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the error model every route's error responses refer to."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        schema.setdefault("components", {}).setdefault("schemas", {}).update(error_components())
    return app.openapi_schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store.open(
            settings.resolved_database_url,
            wait_seconds=settings.database_wait_seconds,
            announce_to=settings.redis_url,
        )
        runner = make_runner(settings, store)
        chemistry = ChemistryPool.from_settings(settings)
        notifier = Notifier(store, settings, name=f"api:{socket.gethostname()}:{os.getpid()}")
        feed = ChangeFeed(store, settings)
        app.state.store = store
        app.state.feed = feed
        app.state.runner = runner
        app.state.chemistry = chemistry
        chemistry.start()
        runner.start()
        notifier.start()
        await feed.start()
        log.info("Dockyard %s serving jobs from %s", __version__, store.engine.url)
        try:
            yield
        finally:
            notifier.stop()
            await feed.stop()
            runner.stop()
            chemistry.stop()
            store.close()

    app = FastAPI(
        title="Dockyard",
        version=__version__,
        description="Molecular docking with AutoDock Vina: submit jobs, follow them, get poses.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.openapi = lambda: openapi_with_errors(app)
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=str(WEB / "templates"))
    install_error_handlers(app)
    install_auth(app, settings)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(SameOriginMiddleware, trusted_origins=settings.trusted_origins)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestMetricsMiddleware)  # outermost: it times all the others
    for router in ROUTERS:
        if router in OPEN_ROUTERS:
            app.include_router(router)
        else:
            app.include_router(router, dependencies=GATE, responses=error_responses(401, 403))
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    return app
