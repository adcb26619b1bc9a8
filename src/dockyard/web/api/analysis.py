"""Chemistry for the pages: interactions of docked poses and 2D depictions of ligands.

Interactions come from ProLIF (``dockyard.chem.interactions``), loaded with RDKit on the
first request that needs them. A job's poses never change once it has completed, so each
job's answer is kept in memory, keyed by the job and its finishing time. Depictions are
RDKit SVG drawings, cached by SMILES.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from dockyard.errors import ConflictError, InputError, NotFoundError
from dockyard.jobs.files import POSES_SDF, RECEPTOR_PDB, RECEPTOR_PDBQT
from dockyard.jobs.models import Job, JobStatus
from dockyard.jobs.store import Store
from dockyard.web.deps import StoreDep
from dockyard.web.schemas import error_responses
from dockyard.web.types import Id, Index

router = APIRouter(prefix="/api", tags=["analysis"], responses=error_responses(404, 409, 422))

CACHED_JOBS = 64
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
    """The interactions of the last few jobs' poses; one computation per job at a time."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[tuple[int, str], list[dict[str, Any]]] = OrderedDict()
        self.lock = threading.Lock()
        self.busy: dict[tuple[int, str], threading.Lock] = {}

    def get(self, key: tuple[int, str], compute) -> list[dict[str, Any]]:
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
            job_lock = self.busy.setdefault(key, threading.Lock())
        with job_lock:
            with self.lock:
                if key in self.entries:
                    return self.entries[key]
            value = compute()
            with self.lock:
                self.entries[key] = value
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
                self.busy.pop(key, None)
            return value


_cache = _Cache(CACHED_JOBS)


def _receptor(store: Store, job_id: int) -> tuple[str, str]:
    for name, fmt in RECEPTOR_FILES:
        try:
            return store.read_file(job_id, name).content.decode(), fmt
        except NotFoundError:
            continue
    raise NotFoundError(f"Job {job_id} has no receptor file.", field="job_id")


def job_interactions(store: Store, job: Job) -> list[dict[str, Any]]:
    if job.status != JobStatus.COMPLETED:
        raise ConflictError(
            f"Job {job.id} is {job.status.value}; interactions are ready once it has completed.",
            field="job_id",
        )

    def compute() -> list[dict[str, Any]]:
        from dockyard.chem.interactions import pose_interactions

        receptor, fmt = _receptor(store, job.id)
        poses_sdf = store.read_file(job.id, POSES_SDF).content.decode()
        poses = pose_interactions(receptor, fmt, poses_sdf)
        return [pose.to_dict() for pose in poses]

    return _cache.get((job.id, str(job.finished_at)), compute)


@router.get("/jobs/{job_id}/poses/{rank}/interactions", response_model=PoseInteractions)
def interactions_of_pose(job_id: Id, rank: Index, store: StoreDep) -> PoseInteractions:
    """Hydrogen bonds, hydrophobic contacts, π-stacking, π-cation, salt bridges, halogen bonds
    and metal contacts of one pose (ProLIF), with the residues within 4 Å of it."""
    job = store.get_job(job_id)
    poses = job_interactions(store, job)
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


@lru_cache(maxsize=512)
def depict(smiles: str, width: int, height: int) -> str:
    """An RDKit SVG drawing of a molecule, hydrogens hidden, on a transparent background."""
    from rdkit import Chem
    from rdkit.Chem import rdDepictor
    from rdkit.Chem.Draw import rdMolDraw2D
    from rdkit.rdBase import BlockLogs

    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InputError(f"RDKit cannot read the SMILES {smiles!r}.", field="smiles")
    mol = Chem.RemoveHs(mol)
    rdDepictor.SetPreferCoordGen(True)
    rdDepictor.Compute2DCoords(mol)
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    options = drawer.drawOptions()
    options.clearBackground = False
    options.padding = 0.08
    options.bondLineWidth = 1.5
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


@router.get(
    "/depict.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def depiction(
    smiles: Annotated[str, Query(min_length=1, max_length=MAX_SMILES_LENGTH)],
    width: Annotated[int, Query(ge=40, le=1200)] = 240,
    height: Annotated[int, Query(ge=40, le=1200)] = 180,
) -> Response:
    """A 2D drawing of a molecule (RDKit SVG), e.g. ``/api/depict.svg?smiles=CCO``."""
    return Response(
        depict(smiles.strip(), width, height),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
