"""The job list at ``/jobs`` and one job's page at ``/jobs/{id}``."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dockyard.chem.core.progress import DOCKING_PROGRESS
from dockyard.jobs.files import (
    LIGAND_SDF,
    POSES_PDBQT,
    POSES_SDF,
    RECEPTOR_PDB,
    RECEPTOR_PDBQT,
    RECEPTOR_UPLOAD,
    REFERENCE_UPLOAD,
    RESULTS_CSV,
)
from dockyard.jobs.models import SCREEN_KIND, JobStatus, utcnow
from dockyard.jobs.params import DockParams
from dockyard.web.deps import CurrentUser, SettingsDep, StoreDep
from dockyard.web.pages.render import (
    as_text,
    box_padding,
    events_url,
    format_duration,
    owner_deliveries,
    parameter_rows,
    render,
    search_rows,
    stored_file,
)
from dockyard.web.schemas import JobDetail, JobSummary
from dockyard.web.types import Id

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50

DOWNLOAD_LABELS = {
    POSES_SDF: "Poses (SDF)",
    POSES_PDBQT: "Poses (PDBQT)",
    RESULTS_CSV: "Scores (CSV)",
}


VIEWER_FORMATS = {
    "pdb": "pdb",
    "cif": "cif",
    "mmcif": "cif",
    "pdbqt": "pdbqt",
    "sdf": "sdf",
    "mol": "sdf",
    "mol2": "mol2",
}
"""File formats as 3Dmol.js names them."""

INTERACTION_LEGEND = (
    ("hydrogen_bond", "Hydrogen bond"),
    ("hydrophobic", "Hydrophobic contact"),
    ("pi_stacking", "π-stacking"),
    ("pi_cation", "π-cation"),
    ("salt_bridge", "Salt bridge"),
    ("halogen_bond", "Halogen bond"),
    ("metal", "Metal contact"),
)
"""Interaction kinds (as ``dockyard.chem.interactions`` names them) and their labels."""


def jobs_url(status: JobStatus | None = None, before: int | None = None) -> str:
    query = {key: value for key, value in (("status", status), ("before", before)) if value}
    return "/jobs?" + urlencode(query) if query else "/jobs"


def run_time(job: JobSummary) -> str | None:
    if job.started_at is None:
        return None
    end = job.finished_at or utcnow()
    return format_duration((end - job.started_at).total_seconds())


def command_line(stored: Mapping[str, Any], files: list[str]) -> str:
    """The ``dockyard dock`` command that repeats a docking, with the user's file names."""
    params = DockParams.from_dict(stored)
    ligand = params.ligand
    box = params.box
    words = ["dockyard", "dock", "--receptor", params.receptor.filename or RECEPTOR_PDB]
    if ligand.from_smiles:
        words += ["--smiles", ligand.smiles or ""]
    else:
        words += ["--ligand", ligand.filename or LIGAND_SDF]
    reference = stored_file(files, REFERENCE_UPLOAD)
    if params.box_source == "reference_ligand" and reference:
        words += ["--autobox-ligand", reference, "--padding", as_text(box_padding(params))]
    elif box:
        words += ["--center", *(format(box[f"center_{axis}"], "g") for axis in "xyz")]
        words += ["--size", *(format(box[f"size_{axis}"], "g") for axis in "xyz")]
    given = {**params.given_options}
    if given.get("effort") == "fixed":
        del given["effort"]  # the default: a command line without it does the same
    for option in ("effort", "exhaustiveness", "num_poses", "energy_range", "seed", "scoring"):
        if option in given:
            words += [f"--{option.replace('_', '-')}", as_text(given[option])]
    words += ["--out", POSES_SDF]
    return " ".join(shlex.quote(str(word)) for word in words)


def viewer_data(job: JobDetail) -> dict[str, Any]:
    """What the 3D viewer of a job page loads: the receptor (prepared once the job ran),
    the poses, the reference ligand and the box."""
    files = job.files
    base = f"/api/jobs/{job.id}/"
    finished_ok = job.status == JobStatus.COMPLETED
    params = DockParams.from_dict(job.params)
    receptor = RECEPTOR_PDBQT if finished_ok and RECEPTOR_PDBQT in files else None
    receptor = receptor or stored_file(files, RECEPTOR_UPLOAD)
    reference = stored_file(files, REFERENCE_UPLOAD)
    return {
        "receptor": receptor and {"url": base + receptor, "format": _viewer_format(receptor)},
        "poses": {"url": base + POSES_SDF, "format": "sdf"} if finished_ok else None,
        "reference": reference and {"url": base + reference, "format": _viewer_format(reference)},
        "box": params.box or None,
        "ligand_name": job.name,
        "smiles": params.ligand.smiles,
    }


def _viewer_format(filename: str) -> str:
    return VIEWER_FORMATS.get(filename.rpartition(".")[2].lower(), "pdb")


def depiction_url(smiles: str | None, width: int = 240, height: int = 180) -> str | None:
    if not smiles:
        return None
    return f"/api/depict.svg?smiles={quote(smiles, safe='')}&width={width}&height={height}"


def list_depiction(stored: Mapping[str, Any]) -> str | None:
    """The small drawing of a job's ligand in the job list."""
    return depiction_url(DockParams.from_dict(stored).ligand.smiles, 120, 72)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    store: StoreDep,
    viewer: CurrentUser,
    status: JobStatus | None = None,
    before: Id | None = None,
) -> HTMLResponse:
    since = utcnow()
    jobs = store.list_jobs(limit=PAGE_SIZE, before=before, status=status, viewer=viewer)
    full_page = len(jobs) == PAGE_SIZE
    filters = [("All", jobs_url(), status is None)] + [
        (choice.value.capitalize(), jobs_url(choice), status == choice) for choice in JobStatus
    ]
    return render(
        request,
        "jobs.html",
        jobs=[JobSummary.from_job(job) for job in jobs],
        depictions={job.id: list_depiction(job.params) for job in jobs},
        status=status,
        filters=filters,
        first_page=before is None,
        full_page=full_page,
        newest_url=jobs_url(status) if before is not None else None,
        older_url=jobs_url(status, jobs[-1].id) if full_page else None,
        events_url=events_url(since),
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    request: Request, job_id: Id, store: StoreDep, viewer: CurrentUser, settings: SettingsDep
) -> Response:
    since = utcnow()
    job = JobDetail.read(store, job_id, retention_days=settings.retention_days)
    if job.kind == SCREEN_KIND:
        return RedirectResponse(f"/screens/{job_id}", status_code=303)
    results = job.results or {}
    report = results.get("receptor_report") or {}
    params = DockParams.from_dict(job.params)
    return render(
        request,
        "job.html",
        job=job,
        viewer=viewer_data(job),
        depiction=depiction_url(params.ligand.smiles),
        command=command_line(job.params, job.files) if job.kind == "dock" else None,
        clone_url=f"/?clone={job.id}" if job.kind == "dock" else None,
        interaction_kinds=INTERACTION_LEGEND,
        finished=job.status.is_finished,
        run_time=run_time(job),
        docking_end=DOCKING_PROGRESS[1],
        parameters=parameter_rows(job.params) + search_rows(results),
        warnings=list(params.warnings),
        poses=results.get("poses") or [],
        report={key: value for key, value in report.items() if key != "warnings"},
        report_warnings=report.get("warnings") or [],
        downloads=DOWNLOAD_LABELS,
        events_url=events_url(since, job_id=job_id),
        deliveries=owner_deliveries(store, viewer, job_id),
    )


@router.post("/jobs/{job_id}/keep")
def keep_job(job_id: Id, store: StoreDep, keep: Annotated[bool, Form()] = True) -> RedirectResponse:
    """The job page's pin button (the API's is ``POST /api/jobs/{id}/keep``)."""
    store.retention.set_keep(job_id, keep)
    return RedirectResponse(f"/jobs/{job_id}#retention", status_code=303)
