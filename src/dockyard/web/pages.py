"""Server-rendered pages: the submit form, the job list and one job's page.

Pages read the job store as the API does. In the browser, small scripts in ``web/static``
post the form to the REST API and follow ``/api/events`` to update status, progress and
results in place; every page still reads correctly without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dockyard.chem import REFERENCE_FORMATS, DockingOptions, example_box, example_paths
from dockyard.chem.box import DEFAULT_PADDING
from dockyard.errors import NotFoundError
from dockyard.jobs.models import JobStatus, utcnow
from dockyard.web.api import StoreDep, get_job
from dockyard.web.schemas import JobSummary

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50

EXAMPLE_ROLES = ("receptor", "ligand")
EXAMPLE_LABEL = "imatinib and Abl kinase (PDB 1IEP)"

ACCEPT = {
    "receptor": ".pdb,.pdbqt",
    "ligand": ".sdf,.mol,.mol2,.pdbqt",
    "reference_ligand": ",".join(f".{fmt}" for fmt in REFERENCE_FORMATS),
}
"""What the file inputs offer; a test checks it against the formats the science layer reads
(importing those here would load RDKit and Meeko into the web process)."""

DOWNLOAD_LABELS = {
    "poses.sdf": "Poses (SDF)",
    "poses.pdbqt": "Poses (PDBQT)",
    "results.csv": "Scores (CSV)",
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


def _box_source(params: Mapping[str, Any]) -> str | None:
    if params.get("box_source") == "reference_ligand":
        return f"around the reference ligand, {params.get('padding', DEFAULT_PADDING):g} Å padding"
    if params.get("box_source") == "explicit":
        return "centre and size given"
    return None


def parameter_rows(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A docking's parameters as (label, text) rows; whatever is missing is left out."""
    receptor = params.get("receptor") or {}
    ligand = params.get("ligand") or {}
    box = params.get("box") or {}
    from_smiles = ligand.get("source") == "smiles"
    rows = {
        "Receptor": receptor.get("filename"),
        "Ligand": "from SMILES" if from_smiles else ligand.get("filename"),
        "SMILES": ligand.get("smiles"),
        "Box centre (Å)": _box_triple(box, "center", ", ", ".3f"),
        "Box size (Å)": _box_triple(box, "size", " \N{MULTIPLICATION SIGN} ", "g"),
        "Box": _box_source(params),
        "Scoring": params.get("scoring"),
        "Exhaustiveness": params.get("exhaustiveness"),
        "Poses asked for": params.get("num_poses"),
        "Energy range (kcal/mol)": params.get("energy_range"),
        "Seed": params.get("seed"),
    }
    return [(label, _text(value)) for label, value in rows.items() if value not in (None, "")]


def _text(value: Any) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


@router.get("/", response_class=HTMLResponse)
def submit_page(request: Request) -> HTMLResponse:
    return render(
        request, "submit.html", example=example_form(), defaults=form_defaults(), accept=ACCEPT
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
        status=status,
        filters=filters,
        first_page=before is None,
        full_page=full_page,
        newest_url=jobs_url(status) if before is not None else None,
        older_url=jobs_url(status, jobs[-1].id) if full_page else None,
        events_url=events_url(since),
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: int, store: StoreDep) -> HTMLResponse:
    since = utcnow()
    job = get_job(job_id, store)
    results = job.results or {}
    report = results.get("receptor_report") or {}
    return render(
        request,
        "job.html",
        job=job,
        finished=job.status.is_finished,
        run_time=run_time(job),
        parameters=parameter_rows(job.params),
        warnings=job.params.get("warnings") or [],
        poses=results.get("poses") or [],
        report={key: value for key, value in report.items() if key != "warnings"},
        report_warnings=report.get("warnings") or [],
        downloads=DOWNLOAD_LABELS,
        events_url=events_url(since, job_id=job_id),
    )
