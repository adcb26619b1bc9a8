"""The screen form at ``/screens/new`` and one screen's page at ``/screens/{id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dockyard.chem.core.formats import LIBRARY_FORMATS, MAX_LIGANDS
from dockyard.errors import NotFoundError
from dockyard.jobs import screen_results
from dockyard.jobs.models import SCREEN_KIND, utcnow
from dockyard.jobs.params import ScreenParams
from dockyard.jobs.screening import SCREEN_DEFAULT_POSES
from dockyard.web.deps import CurrentUser, StoreDep
from dockyard.web.pages.render import (
    ACCEPT,
    events_url,
    form_defaults,
    format_duration,
    owner_deliveries,
    parameter_rows,
    render,
)
from dockyard.web.types import Id

router = APIRouter(prefix="/screens", include_in_schema=False)

PAGE_SIZE = 50
"""Rows of a page of the ligand table on the screen page (``?page_size=`` changes it)."""

TABLE_COLUMNS = (
    ("index", "#"),
    ("name", "Name"),
    ("status", "Status"),
    ("score", "Score"),
    ("ligand_efficiency", "LE"),
    ("heavy_atoms", "Heavy atoms"),
    ("molecular_weight", "MW"),
    ("logp", "logP"),
)


LIBRARY_ACCEPT = ",".join(f".{fmt}" for fmt in LIBRARY_FORMATS)


@router.get("/new", response_class=HTMLResponse)
def new_screen_page(request: Request) -> HTMLResponse:
    """The screen form: the submit form's fields, a library instead of one ligand."""
    defaults = {**form_defaults(), "num_poses": str(SCREEN_DEFAULT_POSES), "size": "20"}
    return render(
        request,
        "screen_new.html",
        defaults=defaults,
        accept={**ACCEPT, "library": LIBRARY_ACCEPT},
        max_ligands=MAX_LIGANDS,
    )


def screen_parameters(stored: dict) -> list[tuple[str, str]]:
    """The screen's parameters as (label, text) rows, as on a job's page, plus the library."""
    params = ScreenParams.from_dict(stored)
    rows = [("Library", params.library_filename)] if params.library_filename else []
    rows += parameter_rows(stored)
    rows.append(("Duplicates", "skipped" if params.skip_duplicates else "docked"))
    if params.chunk_size:
        rows.append(("Ligands per chunk", str(params.chunk_size)))
    return rows


@router.get("/{screen_id}", response_class=HTMLResponse)
def screen_page(
    request: Request,
    screen_id: Id,
    store: StoreDep,
    viewer: CurrentUser,
    page_size: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
) -> Response:
    """One screen; ``?page_size=`` sets how many rows a page of the ligand table holds."""
    since = utcnow()
    try:
        job, _ = screen_results.get_screen(store, screen_id)
    except NotFoundError as missing:
        # A docking's (or a chunk's) id leads to its own page.
        try:
            kind = store.get_job(screen_id).kind
        except NotFoundError:
            raise missing from None
        if kind != SCREEN_KIND:
            return RedirectResponse(f"/jobs/{screen_id}", status_code=303)
        raise
    overview = screen_results.overview(store, screen_id)
    eta = overview["eta_seconds"]
    return render(
        request,
        "screen.html",
        job=job,
        overview=overview,
        validation=screen_results.validation(store, screen_id),
        eta=format_duration(eta) if eta else None,
        finished=job.status.is_finished,
        columns=TABLE_COLUMNS,
        page_size=page_size,
        parameters=screen_parameters(job.params),
        warnings=list(ScreenParams.from_job(job).warnings),
        events_url=events_url(since, job_id=screen_id),
        deliveries=owner_deliveries(store, viewer, screen_id),
    )
