"""The submit form at ``/``: empty, filled in with the packaged example, or cloned from a job."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dockyard.chem import DockingOptions, example_box, example_paths
from dockyard.errors import InputError, NotFoundError
from dockyard.jobs.files import (
    LIGAND_UPLOAD,
    RECEPTOR_UPLOAD,
    REFERENCE_UPLOAD,
    upload_name,
)
from dockyard.jobs.params import DockParams
from dockyard.web.deps import SettingsDep, StoreDep
from dockyard.web.pages.render import (
    ACCEPT,
    as_text,
    box_padding,
    form_defaults,
    render,
    stored_file,
)
from dockyard.web.schemas import JobDetail
from dockyard.web.types import Id

router = APIRouter(include_in_schema=False)

EXAMPLE_ROLES = ("receptor", "ligand")
EXAMPLE_LABEL = "imatinib and Abl kinase (PDB 1IEP)"


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
        values["padding"] = as_text(box_padding(params))
    values |= {option: as_text(value) for option, value in params.given_options.items()}
    if ligand.from_smiles:
        values["smiles"] = ligand.smiles or ""
    files = {}
    base = f"/api/jobs/{job.id}/"
    stored_receptor = upload_name(RECEPTOR_UPLOAD, params.receptor.format)
    if stored_receptor in job.files:
        files["receptor"] = {"url": base + stored_receptor, "filename": params.receptor.filename}
    stored_ligand = stored_file(job.files, LIGAND_UPLOAD)
    if ligand.source == "file" and stored_ligand:
        files["ligand"] = {"url": base + stored_ligand, "filename": ligand.filename}
    stored_reference = stored_file(job.files, REFERENCE_UPLOAD)
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
def submit_page(
    request: Request, store: StoreDep, settings: SettingsDep, clone: Id | None = None
) -> HTMLResponse:
    """The submit form; ``?clone=ID`` fills it in with job ID's parameters and files."""
    prefill = None
    if clone is not None:
        prefill = clone_form(JobDetail.read(store, clone, retention_days=settings.retention_days))
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
