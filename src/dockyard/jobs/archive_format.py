"""The archive format: one zip per finished job or screen, self-describing.

Spelled once here, for the export (:mod:`dockyard.jobs.archive`), the import
(:mod:`dockyard.jobs.archive_import`) and the README written inside every archive::

    dockyard-archive.json   the manifest: format and version, the job's row, every file's
                            path, size and SHA-256, the screen's counters (written last)
    README.md               this layout, for a person who opens the zip
    inputs/                 the uploads as they were stored (receptor.pdb, ligand_input.sdf, …)
    prepared/               receptor.pdbqt, receptor_prepared.pdb, receptor_report.json,
                            ligand.pdbqt (and ligand_isomer_N.pdbqt)
    results/                poses.sdf, poses.pdbqt, results.csv (a screen: results.csv, top.sdf)
    ligands.jsonl           a screen: every ligand's row, one JSON object a line, by index
    children/N/…            a screen's chunks and validation redocking, laid out the same way

The manifest is a :class:`Manifest`; a reader refuses a format or version it does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from dockyard._version import __version__
from dockyard.jobs.files import (
    LIGAND_PDBQT,
    RECEPTOR_PDBQT,
    RECEPTOR_PREPARED_PDB,
    RESULTS_CSV,
)
from dockyard.jobs.models import (
    CHUNK_KIND,
    DOCK_KIND,
    INTEGER_MAX,
    SCREEN_KIND,
    VALIDATION_KIND,
    JobStatus,
    LigandStatus,
)

FORMAT = "dockyard-archive"
VERSION = 1
"""The version this Dockyard writes and the only one it reads."""
MANIFEST = "dockyard-archive.json"
README = "README.md"
LIGANDS = "ligands.jsonl"
RECEPTOR_REPORT = "prepared/receptor_report.json"
SCREEN_RESULTS = f"results/{RESULTS_CSV}"
SCREEN_TOP_SDF = "results/top.sdf"
TOP_POSES = 100
"""Ligands whose best pose goes in a screen's ``results/top.sdf`` (as its download's default)."""
MEDIA_TYPE = "application/zip"

PREPARED_FILES = frozenset({RECEPTOR_PDBQT, RECEPTOR_PREPARED_PDB, LIGAND_PDBQT})
ISOMER_PREFIX = "ligand_isomer_"

Int = Annotated[int, Ge(0), Le(INTEGER_MAX)]
Text200 = Annotated[str, StringConstraints(max_length=200)]
FileName = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f\x7f]+$")
]
"""A stored file's name: one path segment, printable (PostgreSQL text holds no NUL)."""
EntryPath = Annotated[str, StringConstraints(min_length=1, max_length=400)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def entry_path(name: str, role: str, prefix: str = "") -> str:
    """Where a stored file goes in the zip: prepared molecules, then uploads, then outputs."""
    if name in PREPARED_FILES or name.startswith(ISOMER_PREFIX):
        folder = "prepared"
    elif role == "input":
        folder = "inputs"
    else:
        folder = "results"
    return f"{prefix}{folder}/{name}"


def child_prefix(number: int) -> str:
    return f"children/{number}/"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class FileRecord(Strict):
    """A stored file (a row of ``job_files``): restored byte for byte from ``path``."""

    path: EntryPath
    name: FileName
    role: Literal["input", "output"]
    media_type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    size: Int
    sha256: Sha256


class DerivedRecord(Strict):
    """A file made for people from what the archive already holds (a CSV, the report):
    checked, never restored."""

    path: EntryPath
    size: Annotated[int, Ge(0)]
    sha256: Sha256


class JobRecord(Strict):
    """A job's row, every column but its id, owner, parent and lease."""

    kind: Literal["dock", "screen", "screen_chunk", "screen_validation"]
    name: Text200
    status: JobStatus
    stage: Text200
    progress: Annotated[float, Ge(0), Le(1)]
    attempt: Int
    max_attempts: Int
    time_limit: Annotated[float, Field(gt=0)]
    error: str | None
    error_detail: str | None
    worker: Text200 | None
    parameters: dict[str, Any]
    results: dict[str, Any] | None
    provenance: dict[str, Any] | None
    created_at: AwareDatetime
    started_at: AwareDatetime | None
    finished_at: AwareDatetime | None
    updated_at: AwareDatetime
    files: list[FileRecord]


class LigandsRecord(Strict):
    path: Literal["ligands.jsonl"]
    count: Int
    size: Annotated[int, Ge(0)]
    sha256: Sha256


class ScreenRecord(Strict):
    """A screen's counters (its ``screens`` row) and where its ligands are."""

    total: Int
    completed: Int
    failed: Int
    duplicates: Int
    best_score: float | None
    ligands: LigandsRecord


class Source(Strict):
    """Where the archive was made: the job's id there, the server's address if it was
    exported over HTTP, and a short name of its database."""

    job_id: Annotated[int, Ge(1), Le(INTEGER_MAX)]
    server: Annotated[str, StringConstraints(max_length=2000)] | None
    store: Annotated[str, StringConstraints(max_length=64)]


class Manifest(JobRecord):
    """``dockyard-archive.json``."""

    format: Literal["dockyard-archive"]
    version: Literal[1]
    dockyard_version: Annotated[str, StringConstraints(max_length=64)]
    exported_at: AwareDatetime
    source: Source
    kind: Literal["dock", "screen"]
    screen: ScreenRecord | None
    derived: list[DerivedRecord]
    children: list[JobRecord]


class LigandRecord(Strict):
    """One line of ``ligands.jsonl``: a row of ``screen_ligands``."""

    index: Int
    name: Text200
    source: str
    source_format: Annotated[str, StringConstraints(max_length=8)]
    status: LigandStatus
    canonical_smiles: str | None
    duplicate_of: Int | None
    score: float | None
    ligand_efficiency: float | None
    heavy_atoms: Int | None
    molecular_weight: float | None
    logp: float | None
    num_poses: Int | None
    error: str | None
    poses_sdf: str | None
    plausible: bool | None
    evidence: dict[str, Any] | None
    finished_at: AwareDatetime | None


class Shape(BaseModel):
    """What the pages and runners read of a job's JSON, typed strictly (a string is not a
    number); keys they do not read are kept as they are."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


class ReceptorShape(Shape):
    filename: str | None = None
    format: str | None = None
    prepared: bool | None = None


class LigandShape(Shape):
    source: str | None = None
    smiles: str | None = None
    filename: str | None = None
    format: str | None = None
    prepared_smiles: str | None = None
    files: list[FileName] | None = None
    stereoisomers: list[str] | None = None


class BoxShape(Shape):
    center_x: float | None = None
    center_y: float | None = None
    center_z: float | None = None
    size_x: float | None = None
    size_y: float | None = None
    size_z: float | None = None


class ParameterShape(Shape):
    """``Job.params`` of a docking or a screen, as :mod:`dockyard.jobs.params` reads it."""

    receptor: ReceptorShape | None = None
    ligand: LigandShape | None = None
    receptor_report: dict[str, Any] | None = None
    preparation: dict[str, Any] | None = None
    box: BoxShape | None = None
    box_source: str | None = None
    padding: float | None = None
    warnings: list[str] | None = None
    scoring: str | None = None
    exhaustiveness: int | None = None
    num_poses: int | None = None
    energy_range: float | None = None
    seed: int | None = None
    library: dict[str, Any] | None = None
    skip_duplicates: bool | None = None
    total: Int | None = None
    chunk_size: Int | None = None


class ChunkShape(Shape):
    """A chunk's ``params``: the part of the library it docks."""

    start: Int
    stop: Int


class PoseShape(Shape):
    rank: int | None = None
    affinity: float | None = None
    inter: float | None = None
    intra: float | None = None
    torsions: float | None = None
    rmsd_lb: float | None = None
    rmsd_ub: float | None = None


class ResultShape(Shape):
    """``Job.results``, as the pages and the downloads read it."""

    best_score: float | None = None
    poses: list[PoseShape] | None = None
    warnings: list[str] | None = None
    receptor_report: dict[str, Any] | None = None


LIGAND_COLUMNS = tuple(LigandRecord.model_fields)
"""The columns of ``screen_ligands`` an archive keeps, in the order each line lists them."""
CHILD_KINDS = frozenset({CHUNK_KIND, VALIDATION_KIND})
TOP_KINDS = frozenset({DOCK_KIND, SCREEN_KIND})


def readme(manifest_fields: dict[str, Any]) -> str:
    """The README.md of one archive: what it holds and how it is laid out."""
    kind = manifest_fields["kind"]
    what = "screen" if kind == SCREEN_KIND else "docking"
    exported: datetime = manifest_fields["exported_at"]
    return f"""# Dockyard archive: {what} {manifest_fields["source"]["job_id"]}

{manifest_fields["name"]!s} — {manifest_fields["status"]}, exported {exported.isoformat()}
by Dockyard {__version__}. Format `{FORMAT}`, version {VERSION}.

Import it on any Dockyard server: `dockyard import THIS.zip` (or
`POST /api/archives` with the form field `archive`); it comes back as a finished job with the
same parameters, results and files, and a new id.

- `{MANIFEST}`: the manifest (JSON). Format and version, the Dockyard version, the
  job's kind, name, status, stage, timestamps, parameters, provenance (seed, tool versions),
  results and a screen's counters; every file below with its size and SHA-256.
- `{README}`: this file.
- `inputs/`: the uploads as the server stored them (`receptor.pdb`, `ligand_input.sdf`,
  `reference_ligand.sdf`, …).
- `prepared/`: the prepared receptor (`receptor.pdbqt`, `receptor_prepared.pdb`), its
  preparation report (`receptor_report.json`), the prepared ligand (`ligand.pdbqt`, and one
  `ligand_isomer_N.pdbqt` per further stereoisomer).
- `results/`: a docking's `poses.sdf`, `poses.pdbqt` and `results.csv`, as the downloads give
  them; a screen's `results.csv` (every ligand, best first) and `top.sdf` (the best pose of
  each of its best {TOP_POSES} ligands).
- `{LIGANDS}`: a screen's every ligand, one JSON object a line by index: its input
  (`source`, `source_format`), status, score, properties, evidence and poses (`poses_sdf`).
- `children/N/`: a screen's chunks and validation redocking (their rows are the manifest's
  `children`), laid out as above.

`results.csv`, `top.sdf` and `receptor_report.json` are made from the rest for people to
read; an import checks them but restores the data they come from.
"""
