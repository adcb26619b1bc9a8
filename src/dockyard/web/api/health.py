"""``GET /api/health``: liveness, and whether the job store and the runner can be reached."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dockyard import __version__
from dockyard.web.deps import RunnerDep, StoreDep

router = APIRouter(prefix="/api")


@router.get("/health", tags=["jobs", "service"])
def health(store: StoreDep, runner: RunnerDep) -> JSONResponse:
    """Liveness plus whether the job store and the runner can be reached."""
    try:
        store.ping()
        store_state = {"ok": True, "backend": store.engine.dialect.name}
    except Exception as error:
        store_state = {"ok": False, "backend": store.engine.dialect.name, "error": str(error)}
    runner_state = runner.describe()
    healthy = store_state["ok"] and bool(runner_state.get("alive", True))
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "store": store_state,
        "queue": runner_state,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
