"""Chemistry for the pages: interactions of docked poses and 2D depictions of ligands.

Both run in the chemistry pool (:mod:`dockyard.runners.chemistry`), never in the web process:
interactions come from ProLIF (``dockyard.chem.interactions``), depictions are RDKit SVG
drawings (``dockyard.chem.depict``). A job's poses never change once it has completed, so each
job's answer is kept in memory, keyed by the job and its finishing time. Depictions are kept by
SMILES and size, and so is a SMILES that cannot be drawn (unreadable, or too complex to draw in
time): asking again costs nothing.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from dockyard.chem.depict import depict
from dockyard.chem.interactions import interactions_as_dicts
from dockyard.errors import ConflictError, InputError, NotFoundError
from dockyard.jobs.files import POSES_SDF, RECEPTOR_PDB, RECEPTOR_PDBQT
from dockyard.jobs.models import Job, JobStatus
from dockyard.jobs.store import Store
from dockyard.runners.chemistry import DEPICTION, INTERACTIONS, ChemistryPool
from dockyard.web.deps import ChemistryDep, StoreDep
from dockyard.web.schemas import error_responses
from dockyard.web.types import Id, Index

router = APIRouter(prefix="/api", tags=["analysis"], responses=error_responses(404, 409, 422))

CACHED_JOBS = 64
CACHED_DEPICTIONS = 512
MAX_SMILES_LENGTH = 2000
RECEPTOR_FILES = ((RECEPTOR_PDBQT, "pdbqt"), (RECEPTOR_PDB, "pdb"))


class Interaction(BaseModel):
    kind: str
    residue: str
    distance: float
    ligand_point: tuple[float, float, float]
    protein_point: tuple[float, float, float]
    detail: str


class PoseInteractions(BaseModel):
    job_id: int
    rank: int
    affinity: float | None
    interactions: list[Interaction]
    residues: list[str]
    counts: dict[str, int]


class _Cache:
    """The last few answers; one computation per key at a time."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[tuple, Any] = OrderedDict()
        self.lock = threading.Lock()
        self.busy: dict[tuple, threading.Lock] = {}

    def get(self, key: tuple, compute) -> Any:
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
            key_lock = self.busy.setdefault(key, threading.Lock())
        with key_lock:
            with self.lock:
                if key in self.entries:
                    return self.entries[key]
            try:
                value = compute()
            finally:  # also when it failed (a busy pool): no lock is left behind per key
                with self.lock:
                    self.busy.pop(key, None)
            with self.lock:
                self.entries[key] = value
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
            return value


_cache = _Cache(CACHED_JOBS)
_depictions = _Cache(CACHED_DEPICTIONS)


def _receptor(store: Store, job_id: int) -> tuple[str, str]:
    for name, fmt in RECEPTOR_FILES:
        try:
            return store.read_file(job_id, name).content.decode(), fmt
        except NotFoundError:
            continue
    raise NotFoundError(f"Job {job_id} has no receptor file.", field="job_id")


def job_interactions(store: Store, chemistry: ChemistryPool, job: Job) -> list[dict[str, Any]]:
    if job.status != JobStatus.COMPLETED:
        raise ConflictError(
            f"Job {job.id} is {job.status.value}; interactions are ready once it has completed.",
            field="job_id",
        )

    def compute() -> list[dict[str, Any]]:
        receptor, fmt = _receptor(store, job.id)
        poses_sdf = store.read_file(job.id, POSES_SDF).content.decode()
        return chemistry.run(INTERACTIONS, interactions_as_dicts, receptor, fmt, poses_sdf)

    return _cache.get((job.id, str(job.finished_at)), compute)


@router.get("/jobs/{job_id}/poses/{rank}/interactions", response_model=PoseInteractions)
def interactions_of_pose(
    job_id: Id, rank: Index, store: StoreDep, chemistry: ChemistryDep
) -> PoseInteractions:
    """Hydrogen bonds, hydrophobic contacts, π-stacking, π-cation, salt bridges, halogen bonds
    and metal contacts of one pose (ProLIF), with the residues within 4 Å of it."""
    job = store.get_job(job_id)
    poses = job_interactions(store, chemistry, job)
    found = next((pose for pose in poses if pose["rank"] == rank), None)
    if found is None:
        raise NotFoundError(f"Job {job_id} has no pose {rank}.", field="rank")
    scores = {pose["rank"]: pose.get("affinity") for pose in (job.results or {}).get("poses", [])}
    return PoseInteractions(
        job_id=job_id,
        rank=rank,
        affinity=scores.get(rank),
        interactions=found["interactions"],
        residues=found["residues"],
        counts=found["counts"],
    )


def _drawing(chemistry: ChemistryPool, smiles: str, width: int, height: int) -> str | InputError:
    """The SVG, or the error that says why it cannot be drawn (kept like a drawing)."""
    try:
        return chemistry.run(DEPICTION, depict, smiles, width, height)
    except InputError as error:
        return error


@router.get(
    "/depict.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def depiction(
    chemistry: ChemistryDep,
    smiles: Annotated[str, Query(min_length=1, max_length=MAX_SMILES_LENGTH)],
    width: Annotated[int, Query(ge=40, le=1200)] = 240,
    height: Annotated[int, Query(ge=40, le=1200)] = 180,
) -> Response:
    """A 2D drawing of a molecule (RDKit SVG), e.g. ``/api/depict.svg?smiles=CCO``."""
    key = (smiles.strip(), width, height)
    drawing = _depictions.get(key, lambda: _drawing(chemistry, *key))
    if isinstance(drawing, InputError):
        raise copy.copy(drawing)  # a fresh error each time: raising one adds to its traceback
    return Response(
        drawing,
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
