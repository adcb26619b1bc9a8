"""The pre-flight check: prepare receptor, ligand and box without docking, and say what is wrong.

``POST /api/prepare``, ``dockyard prepare`` and every job submission run :func:`preflight`,
so a user sees in seconds what the docking would use and what would fail. With
``strict=True`` (a submission) what would make the docking fail or meaningless is an
InputError naming the field; otherwise it is a warning. A receptor of fewer than
``MIN_RESIDUES`` residues and a ligand with radical electrons are refused in a submission
unless it sets ``accept_warnings``; then they are warnings the job keeps.

Box sources, exactly one of: explicit centre and size; a reference ligand plus padding;
receptor residues plus padding; the whole protein (blind docking); a detected pocket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.chem.core import pdbqt
from dockyard.chem.core.box import BOX_FIELDS, Box
from dockyard.chem.core.elements import DUMMY_TYPES
from dockyard.chem.core.fields import (
    is_blank,
    offering_acceptance,
    refuse_unless_accepted,
    to_int,
)
from dockyard.chem.core.options import PreparationOptions
from dockyard.chem.core.requests import PreflightRequest
from dockyard.chem.ligand.prepare import PreparedLigand, ligand_from_file, ligand_from_smiles
from dockyard.chem.pockets import Pocket, find_pockets
from dockyard.chem.receptor.prepare import (
    PreparedReceptor,
    box_out_of_reach,
    prepare_receptor,
    too_few_residues,
)
from dockyard.chem.site import box_around_ligand, box_around_protein, box_around_residues
from dockyard.errors import InputError
from dockyard.processes import working_on


@dataclass
class Preflight:
    receptor: PreparedReceptor
    receptor_format: str
    ligand: PreparedLigand | None
    box: Box | None
    box_source: str | None
    pockets: list[Pocket]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        ligand = None
        if self.ligand is not None:
            ligand = {
                **self.ligand.to_dict(),
                "pdbqt": self.ligand.pdbqt,
                "sdf": ligand_sdf(self.ligand),
            }
        return {
            "receptor": {
                "format": self.receptor_format,
                "report": self.receptor.report,
                "pdbqt": self.receptor.pdbqt,
                "pdb": self.receptor.pdb,
            },
            "ligand": ligand,
            "box": None if self.box is None else self.box.to_dict(),
            "box_source": self.box_source,
            "pockets": [pocket.to_dict() for pocket in self.pockets],
            "warnings": self.warnings,
        }


def preflight(
    request: PreflightRequest, *, strict: bool = False, require_ligand: bool = True
) -> Preflight:
    """Prepare everything a docking needs; ``strict`` refuses what would fail.

    A screen checks its target without a ligand (``require_ligand=False``): its ligands come
    from the library, one by one.
    """
    options = request.options
    source = _box_source(request)
    if strict and source is None:
        Box.from_fields(request.box)  # names the first missing field
    if source == "reference_ligand":
        working_on("reference_ligand")
    box = _box(request, source) if source not in (None, "pocket") else None
    working_on("receptor")
    receptor = prepare_receptor(request.receptor.text, request.receptor.format, box, options)
    warnings = list(receptor.report.get("warnings", []))
    accepted = not strict or request.accept_warnings
    problem = too_few_residues(receptor)
    if problem:
        warnings.append(
            refuse_unless_accepted(
                problem, field="receptor", code="receptor_too_small", accepted=accepted
            )
        )
    pockets: list[Pocket] = []
    if request.pockets or source in (None, "pocket"):
        pockets = find_pockets(receptor.pdb)
    if source == "pocket":
        box = _pocket_box(request.pocket, pockets)
    working_on("ligand" if request.ligand is not None else "smiles")
    with offering_acceptance():
        ligand = _ligand(request, options, allow_radicals=accepted)
    if strict and require_ligand and ligand is None:
        raise InputError("A ligand is required: upload a file or paste a SMILES.", field="ligand")
    if box is not None:
        warnings += _box_warnings(box, source, receptor, ligand, strict)
    kind = (request.receptor.format or "").lower().lstrip(".")
    return Preflight(receptor, kind, ligand, box, source, pockets, warnings)


def ligand_sdf(ligand: PreparedLigand) -> str:
    """The prepared ligand (3D, with hydrogens) as an SDF record."""
    from meeko import PDBQTMolecule, RDKitMolCreate
    from rdkit import Chem
    from rdkit.rdBase import BlockLogs

    try:
        with BlockLogs():
            mols = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(ligand.pdbqt, skip_typing=True))
    except Exception:
        return ""
    if not mols or mols[0] is None:
        return ""
    mol = mols[0]
    mol.ClearProp("meeko")
    mol.SetProp("_Name", ligand.name)
    return Chem.MolToMolBlock(mol) + "$$$$\n"


def _box_source(request: PreflightRequest) -> str | None:
    given = []
    if any(not is_blank(request.box.get(name)) for name in BOX_FIELDS):
        given.append(("explicit", "center_x"))
    if request.reference_ligand is not None:
        given.append(("reference_ligand", "reference_ligand"))
    if not is_blank(request.box_residues):
        given.append(("residues", "box_residues"))
    if request.blind:
        given.append(("protein", "blind"))
    if not is_blank(request.pocket):
        given.append(("pocket", "pocket"))
    if len(given) > 1:
        names = " and ".join(name for _source, name in given)
        raise InputError(
            f"Give one box: centre and size, a reference ligand, residues, blind docking or a "
            f"pocket; got {names}.",
            field=given[1][1],
        )
    return given[0][0] if given else None


def _box(request: PreflightRequest, source: str) -> Box:
    receptor = request.receptor
    if source == "explicit":
        return Box.from_fields(request.box)
    if source == "reference_ligand":
        reference = request.reference_ligand
        assert reference is not None
        return box_around_ligand(reference.text, reference.format, padding=request.padding)
    if source == "residues":
        return box_around_residues(
            receptor.text, receptor.format, request.box_residues or "", request.padding
        )
    return box_around_protein(receptor.text, receptor.format, padding=request.padding)


def _pocket_box(rank: Any, pockets: list[Pocket]) -> Box:
    number = to_int(rank, "pocket")
    for pocket in pockets:
        if pocket.rank == number:
            return pocket.box
    found = f"pockets 1 to {len(pockets)}" if pockets else "no pockets"
    raise InputError(f"There is no pocket {number}: the receptor has {found}.", field="pocket")


def _ligand(
    request: PreflightRequest, options: PreparationOptions, *, allow_radicals: bool
) -> PreparedLigand | None:
    smiles = (request.smiles or "").strip()
    if request.ligand is not None and smiles:
        raise InputError("Give either a ligand file or a SMILES string, not both.", field="ligand")
    if smiles:
        return ligand_from_smiles(
            smiles, ph=options.ph, stereo=options.stereo, allow_radicals=allow_radicals
        )
    if request.ligand is not None:
        return ligand_from_file(
            request.ligand.text,
            request.ligand.format,
            field="ligand",
            ph=options.ph,
            stereo=options.stereo,
            allow_radicals=allow_radicals,
        )
    return None


def _box_warnings(
    box: Box,
    source: str | None,
    receptor: PreparedReceptor,
    ligand: PreparedLigand | None,
    strict: bool,
) -> list[str]:
    warnings = box.warnings()
    if source == "protein":
        warnings.append(
            f"Blind docking: the box covers the whole protein ({box.volume:,.0f} Å³). Vina "
            "spreads its search over all of it, so raise exhaustiveness (32 or more) or pick a "
            "detected pocket; results from a blind docking need checking."
        )
    message = box_out_of_reach(box, receptor.pdbqt)
    if message:
        if strict:
            raise InputError(message, field="center_x")
        warnings.append(message)
    if ligand is not None:
        heavy = [
            (a.x, a.y, a.z)
            for a in pdbqt.read_atoms(ligand.pdbqt, "ligand")
            if not a.is_hydrogen and a.ad_type not in DUMMY_TYPES
        ]
        warnings += box.fit_warnings(heavy)
    return warnings
