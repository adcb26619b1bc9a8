"""The form fields that ``POST /api/jobs``, ``/api/screens`` and ``/api/prepare`` share.

Every field arrives as text and is checked by the science layer, which names the field in
its error; FastAPI itself never refuses a value, so all errors have the same shape.
"""

from dataclasses import asdict, dataclass
from typing import Annotated, Any, BinaryIO

from fastapi import Depends, File, Form, UploadFile

from dockyard.chem import BOX_FIELDS
from dockyard.errors import FileTooLargeError
from dockyard.jobs.params import OPTION_FIELDS
from dockyard.jobs.submit import PREPARATION_FIELDS, DockRequest, Upload

OptionalFile = Annotated[UploadFile | None, File()]
OptionalText = Annotated[str | None, Form()]


def _text(description: str) -> Any:
    return Annotated[str | None, Form(description=description)]


def read_upload(upload: UploadFile | None, field: str, max_bytes: int) -> Upload | None:
    """Read at most one byte past the limit, so a huge upload is refused without loading it."""
    if upload is None or not upload.filename:
        return None
    stream: BinaryIO = upload.file
    content = stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise FileTooLargeError(
            f"The {field} file is larger than the limit of {max_bytes / 1e6:.1f} MB.", field=field
        )
    return Upload(upload.filename, content)


@dataclass
class TargetForm:
    """Where to dock and how to prepare the receptor: the box and the preparation options."""

    center_x: str | None
    center_y: str | None
    center_z: str | None
    size_x: str | None
    size_y: str | None
    size_z: str | None
    padding: str | None
    box_residues: str | None
    blind: str | None
    pocket: str | None
    ph: str | None
    keep_waters: str | None
    keep_hetero: str | None
    altloc: str | None
    stereo: str | None

    def request(self, **fields: Any) -> DockRequest:
        """A DockRequest with this target; ``fields`` adds the receptor, ligand and options."""
        values = asdict(self)
        return DockRequest(
            box={name: values[name] for name in BOX_FIELDS},
            padding=self.padding,
            box_residues=self.box_residues,
            blind=self.blind,
            pocket=self.pocket,
            preparation={name: values[name] for name in PREPARATION_FIELDS},
            **fields,
        )


def target_form(
    center_x: _text("box centre x (Å)") = None,
    center_y: _text("box centre y (Å)") = None,
    center_z: _text("box centre z (Å)") = None,
    size_x: _text("box size x (Å)") = None,
    size_y: _text("box size y (Å)") = None,
    size_z: _text("box size z (Å)") = None,
    padding: _text("Å around a reference ligand or residues (default 4)") = None,
    box_residues: _text("box around residues, e.g. 'A:GLU:286, A:THR:315'") = None,
    blind: _text("true: box around the whole protein") = None,
    pocket: _text("rank of a detected pocket as the box") = None,
    ph: _text("pH for protonation states (default 7.4; 'none' keeps them)") = None,
    keep_waters: _text("waters to keep: chain:number list, or 'all'") = None,
    keep_hetero: _text("auto (default), none, metals, cofactors, or residue names/ids") = None,
    altloc: _text("alternate location to keep (default: highest occupancy)") = None,
    stereo: _text("unspecified stereocentres: flag (default) or enumerate") = None,
) -> TargetForm:
    return TargetForm(**{name: value for name, value in locals().items()})


@dataclass
class OptionsForm:
    exhaustiveness: str | None
    num_poses: str | None
    energy_range: str | None
    seed: str | None
    scoring: str | None
    ring_conformers: str | None

    def values(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in OPTION_FIELDS}


def options_form(
    exhaustiveness: _text("search effort, 1-64 (default 8)") = None,
    num_poses: _text("poses to keep, 1-20") = None,
    energy_range: _text("kcal/mol above the best pose (default 3)") = None,
    seed: _text("random seed (default: drawn and recorded)") = None,
    scoring: _text("vina (default) or vinardo") = None,
    ring_conformers: _text("starting ring conformations, 1-8 (default 3; 1 for speed)") = None,
) -> OptionsForm:
    return OptionsForm(exhaustiveness, num_poses, energy_range, seed, scoring, ring_conformers)


TargetFormDep = Annotated[TargetForm, Depends(target_form)]
OptionsFormDep = Annotated[OptionsForm, Depends(options_form)]
