"""The job list at ``/jobs`` and one job's page at ``/jobs/{id}``."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dockyard.chem.docking import DOCKING_PROGRESS
from dockyard.jobs.models import SCREEN_KIND, JobStatus, utcnow
from dockyard.web.deps import StoreDep
from dockyard.web.pages.render import (
    as_text,
    events_url,
    format_duration,
    parameter_rows,
    render,
    stored_file,
)
from dockyard.web.schemas import JobDetail, JobSummary

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50

DOWNLOAD_LABELS = {
    "poses.sdf": "Poses (SDF)",
    "poses.pdbqt": "Poses (PDBQT)",
    "results.csv": "Scores (CSV)",
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


def command_line(params: Mapping[str, Any], files: list[str]) -> str:
    """The ``dockyard dock`` command that repeats a docking, with the user's file names."""
    receptor = params.get("receptor") or {}
    ligand = params.get("ligand") or {}
    box = params.get("box") or {}
    words = ["dockyard", "dock", "--receptor", receptor.get("filename") or "receptor.pdb"]
    if ligand.get("source") == "smiles":
        words += ["--smiles", ligand.get("smiles", "")]
    else:
        words += ["--ligand", ligand.get("filename") or "ligand.sdf"]
    reference = stored_file(files, "reference_ligand")
    if params.get("box_source") == "reference_ligand" and reference:
        words += ["--autobox-ligand", reference, "--padding", as_text(params.get("padding", 4.0))]
    elif box:
        words += ["--center", *(format(box[f"center_{axis}"], "g") for axis in "xyz")]
        words += ["--size", *(format(box[f"size_{axis}"], "g") for axis in "xyz")]
    for option in ("exhaustiveness", "num_poses", "energy_range", "seed", "scoring"):
        if params.get(option) is not None:
            words += [f"--{option.replace('_', '-')}", as_text(params[option])]
    words += ["--out", "poses.sdf"]
    return " ".join(shlex.quote(str(word)) for word in words)


def viewer_data(job: JobDetail) -> dict[str, Any]:
    """What the 3D viewer of a job page loads: the receptor (prepared once the job ran),
    the poses, the reference ligand and the box."""
    files = job.files
    base = f"/api/jobs/{job.id}/"
    finished_ok = job.status == JobStatus.COMPLETED
    receptor = "receptor.pdbqt" if finished_ok and "receptor.pdbqt" in files else None
    receptor = receptor or stored_file(files, "receptor")
    reference = stored_file(files, "reference_ligand")
    ligand = job.params.get("ligand") or {}
    return {
        "receptor": receptor and {"url": base + receptor, "format": _viewer_format(receptor)},
        "poses": {"url": base + "poses.sdf", "format": "sdf"} if finished_ok else None,
        "reference": reference and {"url": base + reference, "format": _viewer_format(reference)},
        "box": job.params.get("box"),
        "ligand_name": job.name,
        "smiles": ligand.get("smiles"),
    }


def _viewer_format(filename: str) -> str:
    return VIEWER_FORMATS.get(filename.rpartition(".")[2].lower(), "pdb")


def depiction_url(smiles: str | None, width: int = 240, height: int = 180) -> str | None:
    if not smiles:
        return None
    return f"/api/depict.svg?smiles={quote(smiles, safe='')}&width={width}&height={height}"


def list_depiction(params: Mapping[str, Any]) -> str | None:
    """The small drawing of a job's ligand in the job list."""
    return depiction_url((params.get("ligand") or {}).get("smiles"), 120, 72)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    store: StoreDep,
    status: JobStatus | None = None,
    before: int | None = None,
) -> HTMLResponse:
    since = utcnow()
    jobs = store.list_jobs(limit=PAGE_SIZE, before=before, status=status)
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
def job_page(request: Request, job_id: int, store: StoreDep) -> Response:
    since = utcnow()
    job = JobDetail.read(store, job_id)
    if job.kind == SCREEN_KIND:
        return RedirectResponse(f"/screens/{job_id}", status_code=303)
    results = job.results or {}
    report = results.get("receptor_report") or {}
    return render(
        request,
        "job.html",
        job=job,
        viewer=viewer_data(job),
        depiction=depiction_url((job.params.get("ligand") or {}).get("smiles")),
        command=command_line(job.params, job.files) if job.kind == "dock" else None,
        clone_url=f"/?clone={job.id}" if job.kind == "dock" else None,
        interaction_kinds=INTERACTION_LEGEND,
        finished=job.status.is_finished,
        run_time=run_time(job),
        docking_end=DOCKING_PROGRESS[1],
        parameters=parameter_rows(job.params),
        warnings=job.params.get("warnings") or [],
        poses=results.get("poses") or [],
        report={key: value for key, value in report.items() if key != "warnings"},
        report_warnings=report.get("warnings") or [],
        downloads=DOWNLOAD_LABELS,
        events_url=events_url(since, job_id=job_id),
    )
