"""Turning what a person submitted into a job: every check runs here, before anything is queued.

The web form and the CLI both build a :class:`DockRequest`; :func:`build_dock_job` runs the
science layer's pre-flight check on it (:func:`dockyard.chem.preflight`, the same as
``POST /api/prepare``), so bad input is refused with a field-named error, never left to fail
on a worker. The receptor is prepared here and stored with its report; the worker docks the
stored PDBQT without preparing again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from dockyard.chem import (
    LIGAND_FORMATS,
    RECEPTOR_FORMATS,
    REFERENCE_FORMATS,
    DockingOptions,
    InputFile,
    PreflightRequest,
    PreparationOptions,
)
from dockyard.chem.core.fields import ACCEPT_WARNINGS
from dockyard.chem.core.options import random_seed
from dockyard.errors import FileTooLargeError, InputError, UnsupportedFileError
from dockyard.jobs.files import (
    LIGAND_PDBQT,
    LIGAND_UPLOAD,
    PDB_MEDIA,
    PDBQT_MEDIA,
    RECEPTOR_PDBQT,
    RECEPTOR_PREPARED_PDB,
    RECEPTOR_UPLOAD,
    REFERENCE_UPLOAD,
    isomer_pdbqt,
    upload_name,
)
from dockyard.jobs.models import DOCK_KIND
from dockyard.jobs.params import OPTION_FIELDS
from dockyard.jobs.store import StoredFile

if TYPE_CHECKING:
    from dockyard.chem import Preflight

PREPARATION_FIELDS = ("ph", "keep_waters", "keep_hetero", "altloc", "stereo")
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
    box_residues: str | None = None
    blind: Any = None
    pocket: Any = None
    preparation: Mapping[str, Any] = field(default_factory=dict)
    """Preparation options: ph, keep_waters, keep_hetero, altloc, stereo."""
    accept_warnings: Any = None
    """true: dock a receptor of few residues or a ligand with radicals, with a warning."""


@dataclass(frozen=True)
class JobSpec:
    """Everything needed to store a job: what the runner will read back."""

    kind: str
    name: str
    params: dict[str, Any]
    files: list[StoredFile]


@dataclass(frozen=True)
class Target:
    """A checked receptor and box: what a docking and a screen share."""

    checked: Preflight
    files: list[StoredFile]
    params: dict[str, Any]


@dataclass(frozen=True)
class StoredTarget:
    """A checked target as a job stores it, without the science objects it was checked with:
    what crosses back from a chemistry process without loading the science stack."""

    files: list[StoredFile]
    params: dict[str, Any]


def preflight_request(
    request: DockRequest, *, max_upload_bytes: int, pockets: bool = False
) -> tuple[PreflightRequest, list[StoredFile]]:
    """The uploads read and checked for kind and size, and the files to keep of them."""
    receptor_format, receptor_text = _read_upload(
        request.receptor, "receptor", RECEPTOR_FORMATS, max_upload_bytes
    )
    # The upload as it came (a PDBQT upload is kept as the cleaned receptor.pdbqt instead).
    files = []
    if receptor_format != "pdbqt":
        files.append(
            StoredFile(upload_name(RECEPTOR_UPLOAD, receptor_format), receptor_text.encode())
        )
    ligand_file = None
    if request.ligand is not None:
        ligand_format, ligand_text = _read_upload(
            request.ligand, "ligand", LIGAND_FORMATS, max_upload_bytes
        )
        ligand_file = InputFile(ligand_text, ligand_format, request.ligand.filename)
        files.append(StoredFile(upload_name(LIGAND_UPLOAD, ligand_format), ligand_text.encode()))
    reference = None
    if request.reference_ligand is not None:
        reference_format, reference_text = _read_upload(
            request.reference_ligand, "reference_ligand", REFERENCE_FORMATS, max_upload_bytes
        )
        reference = InputFile(reference_text, reference_format, request.reference_ligand.filename)
        reference_name = upload_name(REFERENCE_UPLOAD, reference_format)
        files.append(StoredFile(reference_name, reference_text.encode()))
    checked = PreflightRequest(
        receptor=InputFile(receptor_text, receptor_format, request.receptor.filename),
        ligand=ligand_file,
        smiles=(request.smiles or "").strip() or None,
        box=request.box,
        reference_ligand=reference,
        padding=request.padding,
        box_residues=request.box_residues,
        blind=parse_flag(request.blind, "blind"),
        pocket=request.pocket,
        pockets=pockets,
        options=PreparationOptions.from_fields(request.preparation),
        accept_warnings=parse_flag(request.accept_warnings, ACCEPT_WARNINGS),
    )
    return checked, files


def prepare_target(
    request: DockRequest, *, max_upload_bytes: int, require_ligand: bool = True
) -> Target:
    """Read the uploads and run the pre-flight check; the receptor is prepared here, once."""
    from dockyard.chem import preflight

    inputs, files = preflight_request(request, max_upload_bytes=max_upload_bytes)
    checked = preflight(inputs, strict=True, require_ligand=require_ligand)
    preparation = inputs.options
    box = checked.box
    assert box is not None
    receptor = checked.receptor
    files += [
        StoredFile(RECEPTOR_PDBQT, receptor.pdbqt.encode(), PDBQT_MEDIA),
        StoredFile(RECEPTOR_PREPARED_PDB, receptor.pdb.encode(), PDB_MEDIA),
    ]
    box_params: dict[str, Any] = {"box_source": checked.box_source}
    if checked.box_source in ("reference_ligand", "residues", "protein"):
        box_params["padding"] = _padding_used(request.padding, checked.box_source)
    if checked.box_source == "residues":
        box_params["box_residues"] = request.box_residues
    if checked.box_source == "pocket":
        box_params["pocket"] = next(p.to_dict() for p in checked.pockets if p.box == box)
    params = {
        "receptor": {
            "filename": request.receptor.filename,
            "format": inputs.receptor.format,
            "prepared": True,
        },
        "receptor_report": receptor.report,
        "preparation": preparation.to_dict(),
        "box": box.to_dict(),
        **box_params,
        "warnings": list(checked.warnings),
    }
    return Target(checked, files, params)


def preflight_report(
    request: DockRequest, *, max_upload_bytes: int, pockets: bool = False
) -> dict[str, Any]:
    """What ``POST /api/prepare`` answers: the pre-flight check of a request, as plain data."""
    from dockyard.chem import preflight

    inputs, _files = preflight_request(request, max_upload_bytes=max_upload_bytes, pockets=pockets)
    return preflight(inputs).to_dict()


def screen_target(request: DockRequest, *, max_upload_bytes: int) -> StoredTarget:
    """A screen's receptor and box checked and prepared (its ligands come from the library)."""
    target = prepare_target(request, max_upload_bytes=max_upload_bytes, require_ligand=False)
    return StoredTarget(target.files, target.params)


def build_dock_job(request: DockRequest, *, max_upload_bytes: int) -> JobSpec:
    smiles = (request.smiles or "").strip()
    if request.ligand is not None and smiles:
        raise InputError("Give either a ligand file or a SMILES string, not both.", field="ligand")
    if request.ligand is None and not smiles:
        raise InputError("A ligand is required: upload a file or paste a SMILES.", field="ligand")
    if len(smiles) > MAX_SMILES_LENGTH:
        raise InputError(
            f"The SMILES is {len(smiles)} characters long; the limit is {MAX_SMILES_LENGTH}.",
            field="smiles",
        )
    options = DockingOptions.from_fields(
        {key: value for key, value in request.options.items() if value not in (None, "")}
    )
    target = prepare_target(request, max_upload_bytes=max_upload_bytes)
    ligand = target.checked.ligand
    assert ligand is not None
    if options.seed is None:
        options = options.with_seed(random_seed())
    files = list(target.files)
    isomers = [ligand, *ligand.isomers]
    ligand_files = [LIGAND_PDBQT] + [isomer_pdbqt(i) for i in range(2, len(isomers) + 1)]
    files += [
        StoredFile(name, isomer.pdbqt.encode(), PDBQT_MEDIA)
        for name, isomer in zip(ligand_files, isomers, strict=True)
    ]
    if smiles:
        ligand_params: dict[str, Any] = {"source": "smiles", "smiles": smiles}
    else:
        assert request.ligand is not None
        ligand_params = {
            "source": "file",
            "filename": request.ligand.filename,
            "format": PurePath(request.ligand.filename).suffix.lower().lstrip("."),
            "smiles": ligand.smiles,
        }
    ligand_params["prepared_smiles"] = ligand.smiles
    if len(isomers) > 1:
        ligand_params["files"] = ligand_files
        ligand_params["stereoisomers"] = [isomer.smiles for isomer in isomers]

    name = (request.name or "").strip()[:MAX_NAME_LENGTH] or ligand.name or "docking"
    params = {
        **target.params,
        "ligand": ligand_params,
        **{name: getattr(options, name) for name in OPTION_FIELDS},
        "warnings": [*ligand.notes, *target.params["warnings"]],
    }
    return JobSpec(kind=DOCK_KIND, name=name, params=params, files=files)


def parse_flag(value: Any, field_name: str) -> bool:
    if value in (None, "", False):
        return False
    if value is True:
        return True
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InputError(f"{field_name} must be true or false, got {value!r}.", field=field_name)


def _padding_used(padding: Any, source: str) -> float:
    from dockyard.chem.core.box import BLIND_PADDING, DEFAULT_PADDING

    if padding in (None, ""):
        return BLIND_PADDING if source == "protein" else DEFAULT_PADDING
    return float(padding)


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
