"""``GET /api/workers``: the workers, what each is running, and the queue's depth."""

from __future__ import annotations

from fastapi import APIRouter

from dockyard.web.deps import CurrentUser, RunnerDep, StoreDep
from dockyard.web.workers import WorkersStatus, collect

router = APIRouter(prefix="/api", tags=["service"])


@router.get("/workers", response_model=WorkersStatus)
def list_workers(store: StoreDep, runner: RunnerDep, viewer: CurrentUser) -> WorkersStatus:
    """The workers, what each is running, and the queue's depth."""
    return collect(store, runner, viewer)
