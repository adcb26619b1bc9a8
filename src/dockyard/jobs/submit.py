"""Turning what a person submitted into a job: every check runs here, before anything is queued.

The web form and the CLI both build a :class:`DockRequest`; :func:`build_dock_job` validates
it with the science layer (so bad input is refused with a field-named error, never left to
fail on a worker) and returns the parameters and input files to store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from dockyard.chem import (
    LIGAND_FORMATS,
    RECEPTOR_FORMATS,
    REFERENCE_FORMATS,
    Box,
    DockingOptions,
    check_receptor,
    ligand_from_file,
    ligand_from_smiles,
)
from dockyard.chem.docking import random_seed
from dockyard.errors import FileTooLargeError, InputError, UnsupportedFileError
from dockyard.jobs.store import StoredFile

BOX_FIELDS = ("center_x", "center_y", "center_z", "size_x", "size_y", "size_z")
OPTION_FIELDS = ("scoring", "exhaustiveness", "num_poses", "energy_range", "seed")
MAX_SMILES_LENGTH = 2000
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


@dataclass(frozen=True)
class DockRequest:
    receptor: Upload | None
    ligand: Upload | None = None
    smiles: str | None = None
    reference_ligand: Upload | None = None
    box: Mapping[str, Any] = field(default_factory=dict)
    padding: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True)
class JobSpec:
    """Everything needed to store a job: what the runner will read back."""

    kind: str
    name: str
    params: dict[str, Any]
    files: list[StoredFile]


def build_dock_job(request: DockRequest, *, max_upload_bytes: int) -> JobSpec:
    receptor_format, receptor_text = _read_upload(
        request.receptor, "receptor", RECEPTOR_FORMATS, max_upload_bytes
    )
    check_receptor(receptor_text, receptor_format)

    smiles = (request.smiles or "").strip()
    if request.ligand is not None and smiles:
        raise InputError("Give either a ligand file or a SMILES string, not both.", field="ligand")
    if request.ligand is None and not smiles:
        raise InputError("A ligand is required: upload a file or paste a SMILES.", field="ligand")
    files = [StoredFile(f"receptor.{receptor_format}", receptor_text.encode())]
    if smiles:
        if len(smiles) > MAX_SMILES_LENGTH:
            raise InputError(
                f"The SMILES is {len(smiles)} characters long; the limit is {MAX_SMILES_LENGTH}.",
                field="smiles",
            )
        ligand = ligand_from_smiles(smiles)
        ligand_params = {"source": "smiles", "smiles": smiles}
    else:
        ligand_format, ligand_text = _read_upload(
            request.ligand, "ligand", LIGAND_FORMATS, max_upload_bytes
        )
        ligand = ligand_from_file(ligand_text, ligand_format, field="ligand")
        ligand_params = {
            "source": "file",
            "filename": request.ligand.filename,
            "format": ligand_format,
            "smiles": ligand.smiles,
        }
        files.append(StoredFile(f"ligand_input.{ligand_format}", ligand_text.encode()))
    files.append(StoredFile("ligand.pdbqt", ligand.pdbqt.encode()))

    box, box_params = _box(request, max_upload_bytes, files)
    options = DockingOptions.from_fields(
        {key: value for key, value in request.options.items() if value not in (None, "")}
    )
    if options.seed is None:
        options = options.with_seed(random_seed())

    name = (request.name or "").strip()[:MAX_NAME_LENGTH] or ligand.name or "docking"
    params = {
        "receptor": {"filename": request.receptor.filename, "format": receptor_format},
        "ligand": ligand_params,
        "box": box.to_dict(),
        **box_params,
        "scoring": options.scoring,
        "exhaustiveness": options.exhaustiveness,
        "num_poses": options.num_poses,
        "energy_range": options.energy_range,
        "seed": options.seed,
        "warnings": [*ligand.notes, *box.warnings()],
    }
    return JobSpec(kind="dock", name=name, params=params, files=files)


def _box(
    request: DockRequest, max_upload_bytes: int, files: list[StoredFile]
) -> tuple[Box, dict[str, Any]]:
    given = {key: value for key, value in request.box.items() if value not in (None, "")}
    if request.reference_ligand is None:
        return Box.from_fields(request.box), {"box_source": "explicit"}
    if given:
        raise InputError(
            "Give either box centre and size or a reference ligand, not both.",
            field="reference_ligand",
        )
    reference_format, reference_text = _read_upload(
        request.reference_ligand, "reference_ligand", REFERENCE_FORMATS, max_upload_bytes
    )
    padding = 4.0 if request.padding in (None, "") else request.padding
    box = Box.around_ligand(reference_text, reference_format, padding=_number(padding, "padding"))
    files.append(StoredFile(f"reference_ligand.{reference_format}", reference_text.encode()))
    return box, {"box_source": "reference_ligand", "padding": float(padding)}


def _number(value: Any, field_name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{field_name} must be a number, got {value!r}.", field=field_name
        ) from None


def _read_upload(
    upload: Upload | None, field_name: str, formats: tuple[str, ...], max_bytes: int
) -> tuple[str, str]:
    """The file's format (from its extension) and its text, or a field-named error."""
    if upload is None or not upload.content:
        raise InputError(f"The {field_name} file is missing or empty.", field=field_name)
    if len(upload.content) > max_bytes:
        raise FileTooLargeError(
            f"The {field_name} file is {len(upload.content) / 1e6:.1f} MB; "
            f"the limit is {max_bytes / 1e6:.1f} MB.",
            field=field_name,
        )
    suffix = PurePath(upload.filename or "").suffix.lower().lstrip(".")
    if suffix not in formats:
        allowed = ", ".join(f".{fmt}" for fmt in formats)
        raise UnsupportedFileError(
            f"The {field_name} file {upload.filename!r} is not a supported kind; use {allowed}.",
            field=field_name,
        )
    if b"\x00" in upload.content[:8192]:
        raise UnsupportedFileError(
            f"The {field_name} file {upload.filename!r} is binary, not a text {suffix} file.",
            field=field_name,
        )
    try:
        text = upload.content.decode("utf-8")
    except UnicodeDecodeError:
        text = upload.content.decode("latin-1")
    return suffix, text
