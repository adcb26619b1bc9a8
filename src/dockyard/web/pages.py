"""Server-rendered pages: the submit form, the job list and one job's page.

Pages read the job store as the API does. In the browser, small scripts in ``web/static``
post the form to the REST API and follow ``/api/events`` to update status, progress and
results in place; every page still reads correctly without them.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dockyard.chem import REFERENCE_FORMATS, DockingOptions, example_box, example_paths
from dockyard.chem.core.box import DEFAULT_PADDING
from dockyard.chem.core.progress import DOCKING_PROGRESS
from dockyard.errors import InputError, NotFoundError
from dockyard.jobs.files import (
    LIGAND_SDF,
    LIGAND_UPLOAD,
    POSES_PDBQT,
    POSES_SDF,
    RECEPTOR_PDB,
    RECEPTOR_PDBQT,
    RECEPTOR_UPLOAD,
    REFERENCE_UPLOAD,
    RESULTS_CSV,
    upload_name,
)
from dockyard.jobs.models import SCREEN_KIND, JobStatus, utcnow
from dockyard.jobs.params import DockParams, TargetParams
from dockyard.web.api import StoreDep, get_job
from dockyard.web.schemas import JobDetail, JobSummary

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50

EXAMPLE_ROLES = ("receptor", "ligand")
EXAMPLE_LABEL = "imatinib and Abl kinase (PDB 1IEP)"

ACCEPT = {
    "receptor": ".pdb,.cif,.mmcif,.pdbqt",
    "ligand": ".sdf,.mol,.mol2,.pdb,.pdbqt",
    "reference_ligand": ",".join(f".{fmt}" for fmt in REFERENCE_FORMATS),
}
"""What the file inputs offer; a test checks it against the formats the science layer reads
(importing those here would load RDKit and Meeko into the web process)."""

DOWNLOAD_LABELS = {
    POSES_SDF: "Poses (SDF)",
    POSES_PDBQT: "Poses (PDBQT)",
    RESULTS_CSV: "Scores (CSV)",
}


def example_form() -> dict[str, Any]:
    """What the "Try the example" button puts into the form: Vina's basic-docking example."""
    paths = example_paths()
    values = {key: format(value, "g") for key, value in example_box().to_dict().items()}
    return {
        "label": EXAMPLE_LABEL,
        "files": {role: f"/examples/1iep/{paths[role].name}" for role in EXAMPLE_ROLES},
        "values": {
            **values,
            "exhaustiveness": str(DockingOptions().exhaustiveness),
            "name": f"Example: {EXAMPLE_LABEL}",
        },
    }


def form_defaults() -> dict[str, str]:
    options = DockingOptions()
    return {
        "exhaustiveness": str(options.exhaustiveness),
        "num_poses": str(options.num_poses),
        "energy_range": format(options.energy_range, "g"),
        "padding": format(DEFAULT_PADDING, "g"),
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


def render(request: Request, template: str, **context: Any) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, context)


def events_url(since: datetime, **query: Any) -> str:
    """The live stream from ``since`` on: nothing that changed after the page was read is lost."""
    return "/api/events?" + urlencode({**query, "since": since.isoformat()})


def jobs_url(status: JobStatus | None = None, before: int | None = None) -> str:
    query = {key: value for key, value in (("status", status), ("before", before)) if value}
    return "/jobs?" + urlencode(query) if query else "/jobs"


def format_duration(seconds: float) -> str:
    """``45 s``, ``2 min 05 s``, ``1 h 02 min``: the same as ``formatDuration`` in common.js."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def run_time(job: JobSummary) -> str | None:
    if job.started_at is None:
        return None
    end = job.finished_at or utcnow()
    return format_duration((end - job.started_at).total_seconds())


def _box_triple(box: Mapping[str, Any], prefix: str, separator: str, spec: str) -> str | None:
    values = [box.get(f"{prefix}_{axis}") for axis in "xyz"]
    if any(value is None for value in values):
        return None
    return separator.join(format(float(value), spec) for value in values)


def _padding(params: TargetParams) -> float:
    return DEFAULT_PADDING if params.padding is None else params.padding


def _box_source(params: TargetParams) -> str | None:
    if params.box_source == "reference_ligand":
        return f"around the reference ligand, {_padding(params):g} Å padding"
    if params.box_source == "explicit":
        return "centre and size given"
    return None


def parameter_rows(stored: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A docking's parameters as (label, text) rows; whatever is missing is left out."""
    params = DockParams.from_dict(stored)
    ligand = params.ligand
    rows = {
        "Receptor": params.receptor.filename,
        "Ligand": "from SMILES" if ligand.from_smiles else ligand.filename,
        "SMILES": ligand.smiles,
        "Box centre (Å)": _box_triple(params.box, "center", ", ", ".3f"),
        "Box size (Å)": _box_triple(params.box, "size", " \N{MULTIPLICATION SIGN} ", "g"),
        "Box": _box_source(params),
        "Scoring": params.scoring,
        "Exhaustiveness": params.exhaustiveness,
        "Poses asked for": params.num_poses,
        "Energy range (kcal/mol)": params.energy_range,
        "Seed": params.seed,
    }
    return [(label, _text(value)) for label, value in rows.items() if value not in (None, "")]


def _text(value: Any) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def _stored(files: list[str], stem: str) -> str | None:
    """The stored file ``stem.<format>`` of a job, e.g. ``reference_ligand.sdf``."""
    return next((name for name in files if name.rpartition(".")[0] == stem), None)


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
    reference = _stored(files, REFERENCE_UPLOAD)
    if params.box_source == "reference_ligand" and reference:
        words += ["--autobox-ligand", reference, "--padding", _text(_padding(params))]
    elif box:
        words += ["--center", *(format(box[f"center_{axis}"], "g") for axis in "xyz")]
        words += ["--size", *(format(box[f"size_{axis}"], "g") for axis in "xyz")]
    given = params.given_options
    for option in ("exhaustiveness", "num_poses", "energy_range", "seed", "scoring"):
        if option in given:
            words += [f"--{option.replace('_', '-')}", _text(given[option])]
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
    receptor = receptor or _stored(files, RECEPTOR_UPLOAD)
    reference = _stored(files, REFERENCE_UPLOAD)
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


def clone_form(job: JobDetail) -> dict[str, Any]:
    """A submission prefilled from a job: its values, and its input files to load again."""
    if job.kind != "dock":
        raise InputError(f"Job {job.id} is a {job.kind} job; only dockings are cloned here.")
    params = DockParams.from_dict(job.params)
    ligand = params.ligand
    reference_mode = params.box_source == "reference_ligand"
    values: dict[str, str] = {"name": job.name}
    if not reference_mode:
        values |= {key: format(value, "g") for key, value in params.box.items()}
    else:
        values["padding"] = _text(_padding(params))
    values |= {option: _text(value) for option, value in params.given_options.items()}
    if ligand.from_smiles:
        values["smiles"] = ligand.smiles or ""
    files = {}
    base = f"/api/jobs/{job.id}/"
    stored_receptor = upload_name(RECEPTOR_UPLOAD, params.receptor.format)
    if stored_receptor in job.files:
        files["receptor"] = {"url": base + stored_receptor, "filename": params.receptor.filename}
    stored_ligand = _stored(job.files, LIGAND_UPLOAD)
    if ligand.source == "file" and stored_ligand:
        files["ligand"] = {"url": base + stored_ligand, "filename": ligand.filename}
    stored_reference = _stored(job.files, REFERENCE_UPLOAD)
    if reference_mode and stored_reference:
        files["reference_ligand"] = {"url": base + stored_reference, "filename": stored_reference}
    for entry in files.values():
        entry["filename"] = entry["filename"] or entry["url"].rpartition("/")[2]
    return {
        "job_id": job.id,
        "label": f"job {job.id} ({job.name})",
        "box_mode": "reference" if reference_mode else "explicit",
        "values": values,
        "files": files,
    }


@router.get("/", response_class=HTMLResponse)
def submit_page(request: Request, store: StoreDep, clone: int | None = None) -> HTMLResponse:
    """The submit form; ``?clone=ID`` fills it in with job ID's parameters and files."""
    prefill = clone_form(get_job(clone, store)) if clone is not None else None
    values = {**form_defaults(), **(prefill["values"] if prefill else {})}
    return render(
        request,
        "submit.html",
        example=example_form(),
        defaults=values,
        prefill=prefill,
        box_mode=prefill["box_mode"] if prefill else "explicit",
        accept=ACCEPT,
    )


@router.get("/examples/1iep/{name}")
def example_file(name: str) -> Response:
    """The packaged 1IEP example files, which the submit form loads into its file inputs."""
    paths = {path.name: path for role, path in example_paths().items() if role in EXAMPLE_ROLES}
    if name not in paths:
        raise NotFoundError(f"There is no example file {name!r}.", field="name")
    return Response(paths[name].read_bytes(), media_type="text/plain; charset=utf-8")


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
    job = get_job(job_id, store)
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
        parameters=parameter_rows(job.params),
        warnings=list(params.warnings),
        poses=results.get("poses") or [],
        report={key: value for key, value in report.items() if key != "warnings"},
        report_warnings=report.get("warnings") or [],
        downloads=DOWNLOAD_LABELS,
        events_url=events_url(since, job_id=job_id),
    )
