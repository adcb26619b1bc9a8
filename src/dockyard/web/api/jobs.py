"""``/api/jobs``: submit one docking, list, read, cancel and delete jobs, download results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, Response
from pydantic import StrictBool

from dockyard.errors import ConflictError, ForbiddenError
from dockyard.jobs.exports import poses_csv
from dockyard.jobs.files import (
    CSV_MEDIA,
    DOWNLOADS,
    PDBQT_MEDIA,
    POSES_PDBQT,
    POSES_SDF,
    RESULTS_CSV,
    SDF_MEDIA,
)
from dockyard.jobs.models import JobStatus
from dockyard.jobs.submit import build_dock_job
from dockyard.runners.chemistry import PREPARATION
from dockyard.web.deps import (
    ChemistryDep,
    CurrentUser,
    RunnerDep,
    SettingsDep,
    StoreDep,
    SubmitterDep,
)
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
from dockyard.web.schemas import (
    DeliveryInfo,
    JobCreated,
    JobDetail,
    JobPage,
    JobSummary,
    LegacyStatus,
    error_responses,
)
from dockyard.web.types import Id

router = APIRouter(prefix="/api", tags=["jobs"], responses=error_responses(404, 409, 422))


@router.post(
    "/jobs",
    status_code=201,
    response_model=JobCreated,
    dependencies=[StrictMultipart],
    responses=FORM_ERRORS,
)
def submit_job(
    store: StoreDep,
    runner: RunnerDep,
    settings: SettingsDep,
    chemistry: ChemistryDep,
    owner: SubmitterDep,
    target: TargetFormDep,
    options: OptionsFormDep,
    receptor: ReceptorFile,
    ligand: OptionalFile = None,
    smiles: OptionalText = None,
    reference_ligand: OptionalFile = None,
    name: OptionalText = None,
    webhook_url: WebhookText = None,
) -> JSONResponse:
    """Submit one docking. Box: centre and size, a reference ligand plus padding, residues,
    the whole protein (``blind``) or a detected ``pocket``."""
    limit = settings.max_upload_bytes
    webhook = checked_webhook(webhook_url, settings)
    docking = target.request(
        receptor=read_upload(receptor, "receptor", limit),
        ligand=read_upload(ligand, "ligand", limit),
        smiles=smiles,
        reference_ligand=read_upload(reference_ligand, "reference_ligand", limit),
        options=options.values(),
        name=name or "",
    )
    spec = chemistry.run(PREPARATION, build_dock_job, docking, max_upload_bytes=limit)
    job = store.create_job(
        kind=spec.kind,
        name=spec.name,
        params=spec.params,
        files=spec.files,
        max_attempts=settings.max_attempts,
        time_limit=settings.job_time_limit,
        owner_id=owner.owner_id,
        webhook_url=webhook,
    )
    runner.submitted(job.id)
    created = JobCreated(job_id=job.id, status=job.status, url=f"/api/jobs/{job.id}")
    return JSONResponse(
        created.model_dump(mode="json"), status_code=201, headers={"Location": created.url}
    )


@router.get("/jobs", response_model=JobPage)
def list_jobs(
    store: StoreDep,
    viewer: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[Id | None, Query(description="cursor: next_before of the last page")] = None,
    status: JobStatus | None = None,
    parent: Annotated[Id | None, Query(description="list the chunks of this screen")] = None,
) -> JobPage:
    """Newest first. Follow ``next_before`` for the next page."""
    jobs = store.list_jobs(
        limit=limit, before=before, status=status, parent_id=parent, viewer=viewer
    )
    next_before = jobs[-1].id if len(jobs) == limit else None
    return JobPage(jobs=[JobSummary.from_job(job) for job in jobs], next_before=next_before)


@router.get("/jobs/{job_id}", response_model=JobDetail)
def get_job(job_id: Id, store: StoreDep, settings: SettingsDep) -> JobDetail:
    return JobDetail.read(store, job_id, retention_days=settings.retention_days)


@router.post("/jobs/{job_id}/keep", response_model=JobDetail, responses=error_responses(403))
def keep_job(
    job_id: Id,
    store: StoreDep,
    settings: SettingsDep,
    keep: Annotated[StrictBool, Body(embed=True, description="true: pin it; false: let it expire")],
) -> JobDetail:
    """Pin a job (``{"keep": true}``) so no retention pass purges or compacts it, or unpin
    it (``{"keep": false}``); the answer says when it now expires."""
    store.retention.set_keep(job_id, keep)
    return JobDetail.read(store, job_id, retention_days=settings.retention_days)


@router.get("/status/{job_id}", response_model=LegacyStatus)
def legacy_status(job_id: Id, store: StoreDep) -> LegacyStatus:
    """The status shape of the system Dockyard replaced."""
    return LegacyStatus.from_job(store.get_job(job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobSummary, responses=error_responses(403))
def cancel_job(job_id: Id, store: StoreDep) -> JobSummary:
    """Cancel a pending or running job; a running one is killed within seconds."""
    return JobSummary.from_job(store.cancel_job(job_id))


@router.delete("/jobs/{job_id}", status_code=204, responses=error_responses(403))
def delete_job(job_id: Id, store: StoreDep) -> Response:
    """Delete a job and its files (a running job is killed first)."""
    store.delete_job(job_id)
    return Response(status_code=204)


@router.get(
    "/jobs/{job_id}/deliveries", response_model=list[DeliveryInfo], responses=error_responses(403)
)
def list_deliveries(job_id: Id, store: StoreDep, viewer: CurrentUser) -> list[DeliveryInfo]:
    """The notifications of the job's end and how each went; its owner's alone to read (a
    webhook's URL may hold its receiver's secret)."""
    try:
        store.job_for(viewer, job_id, write=True)
    except ForbiddenError:
        raise ForbiddenError(
            f"The notifications of job {job_id} are its owner's to read.", field="job_id"
        ) from None
    return [DeliveryInfo.of(row) for row in store.notifications.of_job(job_id)]


MEDIA_TYPES = {POSES_SDF: SDF_MEDIA, POSES_PDBQT: PDBQT_MEDIA, RESULTS_CSV: CSV_MEDIA}
STORED_FILE_MEDIA = "text/plain"


@router.get(
    "/jobs/{job_id}/{filename:filename}",
    response_class=Response,
    responses={
        200: {"content": {media: {} for media in (*MEDIA_TYPES.values(), STORED_FILE_MEDIA)}}
    },
)
def download(job_id: Id, filename: str, store: StoreDep) -> Response:
    """Downloads: ``poses.sdf``, ``poses.pdbqt``, ``results.csv``, or any stored file by name."""
    job = store.get_job(job_id)
    if filename in DOWNLOADS and job.status != JobStatus.COMPLETED:
        raise ConflictError(
            f"Job {job_id} is {job.status.value}; {filename} is ready once it has completed.",
            field="filename",
        )
    if filename == RESULTS_CSV:
        content = poses_csv((job.results or {}).get("poses", [])).encode()
    else:
        content = store.read_file(job_id, filename).content
    disposition = f'attachment; filename="dockyard-{job_id}-{filename}"'
    return Response(
        content,
        media_type=MEDIA_TYPES.get(filename, STORED_FILE_MEDIA),
        headers={"Content-Disposition": disposition},
    )
