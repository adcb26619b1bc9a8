"""``/api/screens``: submit a library, follow the screen, page through and export its results."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from dockyard.jobs import screen_results
from dockyard.jobs.files import CSV_MEDIA, POSES_SDF, RESULTS_CSV, SDF_MEDIA
from dockyard.jobs.models import LigandStatus
from dockyard.jobs.params import ScreenParams
from dockyard.jobs.screening import LibraryUpload, ScreenRequest, library_limits, submit_screen
from dockyard.jobs.submit import screen_target
from dockyard.runners.chemistry import PREPARATION
from dockyard.web.deps import ChemistryDep, RunnerDep, SettingsDep, StoreDep, SubmitterDep
from dockyard.web.forms import (
    FORM_ERRORS,
    OptionalFile,
    OptionalText,
    OptionsFormDep,
    ReceptorFile,
    StrictMultipart,
    TargetFormDep,
    WebhookText,
    checked_webhook,
    read_upload,
)
from dockyard.web.schemas import JobSummary, error_responses
from dockyard.web.types import Id, Index

router = APIRouter(prefix="/api/screens", tags=["screens"], responses=error_responses(404, 422))

SortColumn = Literal[tuple(screen_results.SORTABLE)]
"""The columns the ligand table sorts by, as the schema lists them."""


@router.post("", status_code=201, dependencies=[StrictMultipart], responses=FORM_ERRORS)
def create_screen(
    store: StoreDep,
    runner: RunnerDep,
    settings: SettingsDep,
    chemistry: ChemistryDep,
    owner: SubmitterDep,
    target: TargetFormDep,
    options: OptionsFormDep,
    receptor: ReceptorFile,
    library: Annotated[UploadFile, File(description=".smi, .csv, .sdf, .zip or .gz")],
    reference_ligand: OptionalFile = None,
    name: OptionalText = None,
    skip_duplicates: Annotated[bool, Form()] = True,
    chunk_size: OptionalText = None,
    validate_target: Annotated[
        bool, Form(alias="validate", description="redock the reference ligand first")
    ] = False,
    webhook_url: WebhookText = None,
) -> JSONResponse:
    """Screen a library against one receptor and box. The library is read as a stream."""
    limit = settings.max_upload_bytes
    webhook = checked_webhook(webhook_url, settings)
    screen = submit_screen(
        store,
        ScreenRequest(
            target=target.request(
                receptor=read_upload(receptor, "receptor", limit),
                reference_ligand=read_upload(reference_ligand, "reference_ligand", limit),
            ),
            library=LibraryUpload(library.filename, library.file) if library.filename else None,
            options=options.values(),
            name=name or "",
            skip_duplicates=skip_duplicates,
            chunk_size=chunk_size,
            validate=validate_target,
            webhook_url=webhook,
        ),
        max_upload_bytes=limit,
        workers=settings.workers,
        max_attempts=settings.max_attempts,
        time_limit=settings.job_time_limit,
        limits=library_limits(settings),
        prepare=partial(chemistry.run, PREPARATION, screen_target),
        owner_id=owner.owner_id,
        max_ligands=owner.max_screen_ligands,
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
    screen_id: Id, store: StoreDep, top: Annotated[int, Query(ge=1, le=100)] = 10
) -> dict:
    """The screen: status, counts, throughput, ETA and a leaderboard of the best ligands."""
    job, _ = screen_results.get_screen(store, screen_id)
    return {
        **JobSummary.from_job(job).model_dump(mode="json"),
        "params": job.params,
        **screen_results.overview(store, screen_id, top=top),
        "validation": screen_results.validation(store, screen_id),
        "downloads": {
            RESULTS_CSV: f"/api/screens/{screen_id}/{RESULTS_CSV}",
            "top.sdf": f"/api/screens/{screen_id}/top.sdf",
        },
    }


@router.get("/{screen_id}/ligands")
def list_ligands(
    screen_id: Id,
    store: StoreDep,
    sort: SortColumn = "score",
    order: Literal["asc", "desc"] = "asc",
    status: LigandStatus | None = None,
    name: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    plausible: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Index = 0,
) -> dict:
    """A page of the ligand table: sort by any column, filter by status, name, score and
    plausibility (``plausible=true``: the best ligands whose top pose passed the checks)."""
    screen_results.get_screen(store, screen_id)
    rows, total = screen_results.list_ligands(
        store,
        screen_id,
        sort=sort,
        descending=order == "desc",
        where=screen_results.LigandFilter(status, name, min_score, max_score, plausible),
        limit=limit,
        offset=offset,
    )
    return {"ligands": rows, "total": total, "limit": limit, "offset": offset}


@router.get("/{screen_id}/ligands/{index}")
def get_ligand(screen_id: Id, index: Index, store: StoreDep) -> dict:
    """One ligand with its poses (SDF text); ``poses_removed``: a compacted screen dropped
    them (its scores stay)."""
    ligand = screen_results.get_ligand(store, screen_id, index)
    return {
        **screen_results.ligand_row(ligand),
        "poses_sdf": ligand.poses_sdf,
        "poses_removed": screen_results.poses_removed(ligand),
    }


@router.get(
    f"/{{screen_id}}/ligands/{{index}}/{POSES_SDF}",
    response_class=Response,
    responses={200: {"content": {SDF_MEDIA: {}}}},
)
def ligand_poses(screen_id: Id, index: Index, store: StoreDep) -> Response:
    ligand = screen_results.get_ligand(store, screen_id, index)
    return Response(
        screen_results.ligand_poses(ligand),
        media_type=SDF_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="screen-{screen_id}-{index}.sdf"'},
    )


@router.get("/{screen_id}/histogram")
def score_histogram(
    screen_id: Id, store: StoreDep, bins: Annotated[int, Query(ge=1, le=200)] = 30
) -> dict:
    """Counts of scores in equal-width bins."""
    return screen_results.histogram(store, screen_id, bins)


@router.get(
    f"/{{screen_id}}/{RESULTS_CSV}",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV_MEDIA: {}}}},
)
def export_csv(screen_id: Id, store: StoreDep) -> StreamingResponse:
    """Every ligand, best first, streamed as CSV."""
    screen_results.get_screen(store, screen_id)
    rows = screen_results.results_csv(store, screen_id)
    return StreamingResponse(
        rows,
        media_type=CSV_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="screen-{screen_id}.csv"'},
    )


@router.get(
    "/{screen_id}/top.sdf",
    response_class=StreamingResponse,
    responses={200: {"content": {SDF_MEDIA: {}}}},
)
def export_top_sdf(
    screen_id: Id, store: StoreDep, n: Annotated[int, Query(ge=1, le=100_000)] = 100
) -> StreamingResponse:
    """The best pose of each of the ``n`` best ligands as one SDF, with scores as properties."""
    screen_results.get_screen(store, screen_id)
    poses = screen_results.top_poses_sdf(store, screen_id, n)
    return StreamingResponse(
        poses,
        media_type=SDF_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="screen-{screen_id}-top{n}.sdf"'},
    )
