"""A job's stored parameters, read once into typed values.

``Job.params`` is JSON whose shape grew with the project: rows stored before a key existed
lack it. These classes read that dict once, tolerating every missing key (the pages leave out
what a job does not record), so the rest of the code reads attributes instead of repeating
``.get()`` with its own default. The stored JSON itself does not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from dockyard.chem import Box, DockingOptions, PreparationOptions
from dockyard.jobs.files import LIGAND_PDBQT
from dockyard.jobs.models import Job

DEFAULT_PH = PreparationOptions().ph
"""The pH of jobs that do not record one (stored before preparation options existed)."""

OPTION_FIELDS = (
    "scoring",
    "exhaustiveness",
    "num_poses",
    "energy_range",
    "seed",
    "ring_conformers",
    "effort",
)
"""The docking options a job stores, as the form, the CLI and the pages name them."""


@dataclass(frozen=True)
class ReceptorParams:
    filename: str | None = None
    format: str = "pdb"
    prepared: bool = False
    """Prepared at submission (its PDBQT is stored); older jobs prepare it on the worker."""

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ReceptorParams:
        return cls(
            filename=values.get("filename"),
            format=values.get("format") or "pdb",
            prepared=bool(values.get("prepared")),
        )


@dataclass(frozen=True)
class LigandParams:
    source: str | None = None
    """``smiles`` or ``file``."""
    smiles: str | None = None
    filename: str | None = None
    format: str | None = None
    prepared_smiles: str | None = None
    files: tuple[str, ...] = (LIGAND_PDBQT,)
    """The stored PDBQT of each stereoisomer to dock."""
    stereoisomers: tuple[str, ...] = ()

    @property
    def from_smiles(self) -> bool:
        return self.source == "smiles"

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> LigandParams:
        return cls(
            source=values.get("source"),
            smiles=values.get("smiles"),
            filename=values.get("filename"),
            format=values.get("format"),
            prepared_smiles=values.get("prepared_smiles"),
            files=tuple(values.get("files") or (LIGAND_PDBQT,)),
            stereoisomers=tuple(values.get("stereoisomers") or ()),
        )


@dataclass(frozen=True, kw_only=True)
class TargetParams:
    """What a docking and a screen share: the receptor, the box and the docking options."""

    receptor: ReceptorParams = ReceptorParams()
    receptor_report: dict[str, Any] = field(default_factory=dict)
    preparation: dict[str, Any] = field(default_factory=dict)
    box: dict[str, float] = field(default_factory=dict)
    """``center_x`` … ``size_z`` as stored (empty if the job records none)."""
    box_source: str | None = None
    padding: float | None = None
    warnings: tuple[str, ...] = ()
    scoring: str | None = None
    exhaustiveness: int | None = None
    num_poses: int | None = None
    energy_range: float | None = None
    seed: int | None = None
    ring_conformers: int | None = None
    effort: str | None = None
    """``fixed`` or ``auto``; jobs stored before the option existed are ``fixed``."""

    @classmethod
    def from_dict(cls, params: Mapping[str, Any]) -> Self:
        return cls(**cls._fields_of(params))

    @classmethod
    def from_job(cls, job: Job) -> Self:
        return cls.from_dict(job.params or {})

    @classmethod
    def _fields_of(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "receptor": ReceptorParams.from_dict(params.get("receptor") or {}),
            "receptor_report": params.get("receptor_report") or {},
            "preparation": params.get("preparation") or {},
            "box": params.get("box") or {},
            "box_source": params.get("box_source"),
            "padding": params.get("padding"),
            "warnings": tuple(params.get("warnings") or ()),
            **{name: params.get(name) for name in OPTION_FIELDS},
        }

    @property
    def ph(self) -> float | None:
        """The pH ligands are protonated at; None keeps the protonation as given."""
        return self.preparation.get("ph", DEFAULT_PH)

    @property
    def given_options(self) -> dict[str, Any]:
        """The docking options the job records, by name, leaving out those it does not."""
        return {
            name: getattr(self, name) for name in OPTION_FIELDS if getattr(self, name) is not None
        }

    def search_box(self) -> Box:
        return Box.from_fields(self.box)

    def docking_options(self, cpu: int = 0) -> DockingOptions:
        """The options validated by the science layer; what the job does not record is the
        default."""
        return DockingOptions.from_fields({**self.given_options, "cpu": cpu})


@dataclass(frozen=True, kw_only=True)
class DockParams(TargetParams):
    """The parameters of one docking (kind ``dock``)."""

    ligand: LigandParams = LigandParams()

    @classmethod
    def _fields_of(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        ligand = LigandParams.from_dict(params.get("ligand") or {})
        return {**super()._fields_of(params), "ligand": ligand}


@dataclass(frozen=True, kw_only=True)
class ScreenParams(TargetParams):
    """The parameters of a screen (kind ``screen``): its target, library and chunking."""

    library_filename: str | None = None
    skip_duplicates: bool = True
    """Dock each molecule of the library once; repeats are reported as duplicates."""
    total: int = 0
    chunk_size: int | None = None

    @classmethod
    def _fields_of(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **super()._fields_of(params),
            "library_filename": (params.get("library") or {}).get("filename"),
            "skip_duplicates": params.get("skip_duplicates", True),
            "total": params.get("total", 0),
            "chunk_size": params.get("chunk_size"),
        }


@dataclass(frozen=True)
class ChunkParams:
    """The part of its screen's library a chunk (kind ``screen_chunk``) docks: [start, stop)."""

    start: int
    stop: int

    @classmethod
    def from_job(cls, job: Job) -> ChunkParams:
        return cls(start=job.params["start"], stop=job.params["stop"])

    def to_dict(self) -> dict[str, int]:
        return {"start": self.start, "stop": self.stop}
