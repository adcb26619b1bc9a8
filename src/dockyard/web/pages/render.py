"""What every page shares: rendering a template, the live stream's address, the submit
forms' fields, durations and docking parameters as people read them, and a job's
notifications for its owner."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from dockyard.chem import REFERENCE_FORMATS, DockingOptions
from dockyard.chem.core.box import DEFAULT_PADDING
from dockyard.chem.core.progress import search_summary
from dockyard.errors import ForbiddenError
from dockyard.jobs.accounts import Viewer
from dockyard.jobs.models import Delivery
from dockyard.jobs.params import DockParams, TargetParams
from dockyard.jobs.store import Store

ACCEPT = {
    "receptor": ".pdb,.cif,.mmcif,.pdbqt",
    "ligand": ".sdf,.mol,.mol2,.pdb,.pdbqt",
    "reference_ligand": ",".join(f".{fmt}" for fmt in REFERENCE_FORMATS),
}
"""What the file inputs offer; a test checks it against the formats the science layer reads
(importing those here would load RDKit and Meeko into the web process)."""


def render(request: Request, template: str, **context: Any) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, context)


def owner_deliveries(store: Store, viewer: Viewer, job_id: int) -> list[Delivery] | None:
    """The notifications of a job's end, for its owner only (None for a reader it is shared
    with: a webhook's URL may hold its receiver's secret)."""
    try:
        store.job_for(viewer, job_id, write=True)
    except ForbiddenError:
        return None
    return store.notifications.of_job(job_id)


def events_url(since: datetime, **query: Any) -> str:
    """The live stream from ``since`` on: nothing that changed after the page was read is lost."""
    return "/api/events?" + urlencode({**query, "since": since.isoformat()})


def form_defaults() -> dict[str, str]:
    """The values the docking and the screen forms start from."""
    options = DockingOptions()
    return {
        "exhaustiveness": str(options.exhaustiveness),
        "effort": options.effort,
        "num_poses": str(options.num_poses),
        "energy_range": format(options.energy_range, "g"),
        "padding": format(DEFAULT_PADDING, "g"),
    }


def format_duration(seconds: float) -> str:
    """``45 s``, ``2 min 05 s``, ``1 h 02 min``: the same as ``formatDuration`` in common.js."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def as_text(value: Any) -> str:
    """A parameter as a form or a command line writes it: floats without trailing zeros."""
    return format(value, "g") if isinstance(value, float) else str(value)


def stored_file(files: list[str], stem: str) -> str | None:
    """The stored file ``stem.<format>`` of a job, e.g. ``reference_ligand.sdf``."""
    return next((name for name in files if name.rpartition(".")[0] == stem), None)


def _box_triple(box: Mapping[str, Any], prefix: str, separator: str, spec: str) -> str | None:
    values = [box.get(f"{prefix}_{axis}") for axis in "xyz"]
    if any(value is None for value in values):
        return None
    return separator.join(format(float(value), spec) for value in values)


def box_padding(params: TargetParams) -> float:
    return DEFAULT_PADDING if params.padding is None else params.padding


def _box_source(params: TargetParams) -> str | None:
    if params.box_source == "reference_ligand":
        return f"around the reference ligand, {box_padding(params):g} Å padding"
    if params.box_source == "explicit":
        return "centre and size given"
    return None


def search_rows(results: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """How much searching a finished docking took (``results["search"]``), as a row."""
    search = (results or {}).get("search")
    return [("Search", search_summary(search))] if search else []


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
        "Search effort": params.effort,
        "Exhaustiveness": params.exhaustiveness,
        "Poses asked for": params.num_poses,
        "Energy range (kcal/mol)": params.energy_range,
        "Seed": params.seed,
    }
    return [(label, as_text(value)) for label, value in rows.items() if value not in (None, "")]
