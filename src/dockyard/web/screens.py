"""Virtual screens over HTTP: submit a library, follow it, page through and export the results."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from dockyard.chem.core.formats import LIBRARY_FORMATS, MAX_LIGANDS
from dockyard.errors import NotFoundError
from dockyard.jobs import screen_results
from dockyard.jobs.files import POSES_SDF, RESULTS_CSV
from dockyard.jobs.models import SCREEN_KIND, LigandStatus, utcnow
from dockyard.jobs.params import ScreenParams
from dockyard.jobs.screening import (
    SCREEN_DEFAULT_POSES,
    LibraryUpload,
    ScreenRequest,
    submit_screen,
)
from dockyard.web.api import RunnerDep, StoreDep
from dockyard.web.forms import (
    OptionalFile,
    OptionalText,
    OptionsFormDep,
    TargetFormDep,
    read_upload,
)
from dockyard.web.pages import (
    ACCEPT,
    events_url,
    form_defaults,
    format_duration,
    parameter_rows,
    render,
)
from dockyard.web.schemas import JobSummary

router = APIRouter(prefix="/api/screens", tags=["screens"])
pages = APIRouter(prefix="/screens", include_in_schema=False)

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


@router.post("", status_code=201)
def create_screen(
    request: Request,
    store: StoreDep,
    runner: RunnerDep,
    target: TargetFormDep,
    options: OptionsFormDep,
    library: Annotated[UploadFile | None, File(description=".smi, .csv, .sdf, .zip or .gz")] = None,
    receptor: OptionalFile = None,
    reference_ligand: OptionalFile = None,
    name: OptionalText = None,
    skip_duplicates: Annotated[bool, Form()] = True,
    chunk_size: OptionalText = None,
) -> JSONResponse:
    """Screen a library against one receptor and box. The library is read as a stream."""
    settings = request.app.state.settings
    limit = settings.max_upload_bytes
    screen = submit_screen(
        store,
        ScreenRequest(
            target=target.request(
                receptor=read_upload(receptor, "receptor", limit),
                reference_ligand=read_upload(reference_ligand, "reference_ligand", limit),
            ),
            library=LibraryUpload(library.filename, library.file) if library else None,
            options=options.values(),
            name=name or "",
            skip_duplicates=skip_duplicates,
            chunk_size=chunk_size,
        ),
        max_upload_bytes=limit,
        workers=settings.workers,
        max_attempts=settings.max_attempts,
        time_limit=settings.job_time_limit,
    )
    runner.submitted(screen.id)
    url = f"/api/screens/{screen.id}"
    params = ScreenParams.from_job(screen)
    body = {
        "job_id": screen.id,
        "status": screen.status.value,
        "url": url,
        "total": params.total,
        "chunk_size": params.chunk_size,
    }
    return JSONResponse(body, status_code=201, headers={"Location": url})


@router.get("/{screen_id}")
def get_screen(
    screen_id: int, store: StoreDep, top: Annotated[int, Query(ge=1, le=100)] = 10
) -> dict:
    """The screen: status, counts, throughput, ETA and a leaderboard of the best ligands."""
    job, _ = screen_results.get_screen(store, screen_id)
    return {
        **JobSummary.from_job(job).model_dump(mode="json"),
        "params": job.params,
        **screen_results.overview(store, screen_id, top=top),
        "downloads": {
            RESULTS_CSV: f"/api/screens/{screen_id}/{RESULTS_CSV}",
            "top.sdf": f"/api/screens/{screen_id}/top.sdf",
        },
    }


@router.get("/{screen_id}/ligands")
def list_ligands(
    screen_id: int,
    store: StoreDep,
    sort: str = "score",
    order: Literal["asc", "desc"] = "asc",
    status: LigandStatus | None = None,
    name: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    """A page of the ligand table: sort by any column, filter by status, name and score."""
    screen_results.get_screen(store, screen_id)
    rows, total = screen_results.list_ligands(
        store,
        screen_id,
        sort=sort,
        descending=order == "desc",
        where=screen_results.LigandFilter(status, name, min_score, max_score),
        limit=limit,
        offset=offset,
    )
    return {"ligands": rows, "total": total, "limit": limit, "offset": offset}


@router.get("/{screen_id}/ligands/{index}")
def get_ligand(screen_id: int, index: int, store: StoreDep) -> dict:
    """One ligand with its poses (SDF text)."""
    ligand = screen_results.get_ligand(store, screen_id, index)
    return {**screen_results.ligand_row(ligand), "poses_sdf": ligand.poses_sdf}


@router.get(f"/{{screen_id}}/ligands/{{index}}/{POSES_SDF}")
def ligand_poses(screen_id: int, index: int, store: StoreDep) -> Response:
    ligand = screen_results.get_ligand(store, screen_id, index)
    return Response(
        ligand.poses_sdf or "",
        media_type="chemical/x-mdl-sdfile",
        headers={"Content-Disposition": f'attachment; filename="screen-{screen_id}-{index}.sdf"'},
    )


@router.get("/{screen_id}/histogram")
def score_histogram(
    screen_id: int, store: StoreDep, bins: Annotated[int, Query(ge=1, le=200)] = 30
) -> dict:
    """Counts of scores in equal-width bins."""
    return screen_results.histogram(store, screen_id, bins)


@router.get(f"/{{screen_id}}/{RESULTS_CSV}")
def export_csv(screen_id: int, store: StoreDep) -> StreamingResponse:
    """Every ligand, best first, streamed as CSV."""
    screen_results.get_screen(store, screen_id)
    rows = screen_results.results_csv(store, screen_id)
    return StreamingResponse(
        rows,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="screen-{screen_id}.csv"'},
    )


@router.get("/{screen_id}/top.sdf")
def export_top_sdf(
    screen_id: int, store: StoreDep, n: Annotated[int, Query(ge=1, le=100_000)] = 100
) -> StreamingResponse:
    """The best pose of each of the ``n`` best ligands as one SDF, with scores as properties."""
    screen_results.get_screen(store, screen_id)
    poses = screen_results.top_poses_sdf(store, screen_id, n)
    return StreamingResponse(
        poses,
        media_type="chemical/x-mdl-sdfile",
        headers={"Content-Disposition": f'attachment; filename="screen-{screen_id}-top{n}.sdf"'},
    )


LIBRARY_ACCEPT = ",".join(f".{fmt}" for fmt in LIBRARY_FORMATS)


@pages.get("/new", response_class=HTMLResponse)
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


@pages.get("/{screen_id}", response_class=HTMLResponse)
def screen_page(
    request: Request,
    screen_id: int,
    store: StoreDep,
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
        eta=format_duration(eta) if eta else None,
        finished=job.status.is_finished,
        columns=TABLE_COLUMNS,
        page_size=page_size,
        parameters=screen_parameters(job.params),
        warnings=list(ScreenParams.from_job(job).warnings),
        events_url=events_url(since, job_id=screen_id),
    )
