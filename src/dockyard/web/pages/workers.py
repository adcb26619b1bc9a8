"""The ``/status`` page: the queue, the workers and the jobs each is running."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dockyard.web.deps import CurrentUser, RunnerDep, StoreDep
from dockyard.web.pages.render import render
from dockyard.web.workers import collect

router = APIRouter(include_in_schema=False)


@router.get("/status", response_class=HTMLResponse)
def status_page(
    request: Request, store: StoreDep, runner: RunnerDep, viewer: CurrentUser
) -> HTMLResponse:
    return render(request, "status.html", status=collect(store, runner, viewer))
