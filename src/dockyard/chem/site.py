"""Where to dock: boxes around a reference ligand, around named receptor residues, or around
the whole protein (blind docking).

Each reads only the coordinates it needs (no chemistry is checked: a crystal ligand RDKit
cannot sanitize still says where the pocket is) and hands them to
:meth:`~dockyard.chem.core.box.Box.around_points`, so every box is checked the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import gemmi
import numpy as np

from dockyard.chem.core import pdbqt
from dockyard.chem.core.box import BLIND_PADDING, DEFAULT_PADDING, Box, padding_value
from dockyard.chem.core.fields import file_format
from dockyard.chem.core.formats import REFERENCE_FORMATS
from dockyard.chem.ligand.read import MAX_HEAVY_ATOMS, parse_molecule
from dockyard.chem.receptor.read import FIELD, read_structure, receptor_kind
from dockyard.chem.residues import is_biopolymer, key, parse_residue
from dockyard.errors import InputError

REFERENCE_FIELD = "reference_ligand"


def box_around_ligand(
    ligand_text: str, fmt: str, padding: float | str | None = DEFAULT_PADDING
) -> Box:
    """The box around a reference ligand's heavy atoms, ``padding`` Å wider on every side."""
    pad = padding_value(padding)
    coords = read_reference_coordinates(ligand_text, fmt)
    return Box.around_points(coords, pad, REFERENCE_FIELD, "upload only the ligand, not a complex")


def box_around_residues(
    receptor_text: str,
    fmt: str,
    residues: str | Sequence[str],
    padding: float | str | None = DEFAULT_PADDING,
) -> Box:
    """The box around receptor residues given as ``A:286``, ``A:GLU:286`` or ``GLU A:286``."""
    pad = padding_value(padding)
    coords = residue_coordinates(receptor_text, fmt, residues, "box_residues")
    return Box.around_points(coords, pad, "box_residues", "name fewer residues")


def box_around_protein(
    receptor_text: str, fmt: str, padding: float | str | None = BLIND_PADDING
) -> Box:
    """Blind docking: the box around every polymer atom of the receptor."""
    pad = padding_value(padding)
    coords = residue_coordinates(receptor_text, fmt, None, "blind")
    return Box.around_points(
        coords, pad, "blind", "the protein is too large for blind docking: choose a pocket"
    )


def read_reference_coordinates(text: str, fmt: str) -> np.ndarray:
    """Heavy-atom coordinates (n by 3) of a reference ligand, for a box around it.

    Chemistry is not checked here: a crystal ligand that RDKit cannot sanitize still
    says where the pocket is.
    """
    field_name = REFERENCE_FIELD
    kind = file_format(fmt, REFERENCE_FORMATS, field_name)
    if not text or not text.strip():
        raise InputError("The reference_ligand file is empty.", field=field_name)
    if kind == "pdbqt":
        atoms = pdbqt.read_atoms(pdbqt.first_model(text)[0], field_name)
        coords = [(a.x, a.y, a.z) for a in atoms if not a.is_hydrogen]
    elif kind == "pdb":
        coords = _pdb_heavy_coordinates(text)
    else:
        mol = parse_molecule(text, kind, sanitize=False)
        if mol is None or mol.GetNumConformers() == 0:
            coords = []
        else:
            positions = mol.GetConformer().GetPositions()
            coords = [positions[a.GetIdx()] for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    if not coords:
        raise InputError(
            f"No heavy atoms could be read from the reference_ligand {kind.upper()} file.",
            field=field_name,
        )
    if len(coords) > MAX_HEAVY_ATOMS:
        raise InputError(
            f"The reference_ligand has {len(coords)} heavy atoms, more than a ligand's "
            f"{MAX_HEAVY_ATOMS}; upload only the ligand, not the protein or complex.",
            field=field_name,
        )
    array = np.asarray(coords, dtype=float)
    if not np.isfinite(array).all():
        raise InputError("The reference_ligand has non-finite coordinates.", field=field_name)
    return array


def _pdb_heavy_coordinates(text: str) -> list[tuple[float, float, float]]:
    try:
        structure = gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError) as error:
        raise InputError(
            f"The reference_ligand PDB file could not be read: {error}", field=REFERENCE_FIELD
        ) from None
    if len(structure) == 0:
        return []
    return [
        (atom.pos.x, atom.pos.y, atom.pos.z)
        for chain in structure[0]
        for residue in chain
        for atom in residue
        if not atom.is_hydrogen()
    ]


def residue_coordinates(
    text: str, fmt: str, specs: str | list[str] | tuple[str, ...] | None, field: str
) -> list[tuple[float, float, float]]:
    """Heavy-atom coordinates of the receptor's named residues (all polymer ones if None).

    A residue is named ``A:286``, ``A:GLU:286`` or ``GLU A:286``; an unknown one is an
    InputError on ``field`` naming it.
    """
    kind = receptor_kind(fmt) if fmt else "pdb"
    residues: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    names: dict[str, str] = {}
    if kind == "pdbqt":
        for atom in pdbqt.read_atoms(text, FIELD):
            if not atom.is_hydrogen and is_biopolymer(atom.resname):
                residue_key = f"{atom.chain}:{atom.resnum}"
                residues[residue_key].append((atom.x, atom.y, atom.z))
                names[residue_key] = atom.resname
    else:
        structure = read_structure(text, kind)
        for chain in structure[0]:
            for residue in chain:
                if not is_biopolymer(residue.name):
                    continue
                residue_key = key(chain, residue)
                names[residue_key] = residue.name
                residues[residue_key] += [
                    (a.pos.x, a.pos.y, a.pos.z) for a in residue if not a.is_hydrogen()
                ]
    if specs is None:
        return [point for points in residues.values() for point in points]
    wanted = [specs] if isinstance(specs, str) else list(specs)
    items = [item.strip() for spec in wanted for item in spec.replace(";", ",").split(",")]
    coords: list[tuple[float, float, float]] = []
    for item in filter(None, items):
        residue_key, name = parse_residue(item, field)
        if residue_key not in residues:
            raise InputError(f"The receptor has no residue {item}.", field=field)
        if name and names[residue_key] != name:
            raise InputError(
                f"Residue {residue_key} of the receptor is {names[residue_key]}, not {name}.",
                field=field,
            )
        coords += residues[residue_key]
    if not coords:
        raise InputError(
            f"{field} names no residues; list them as A:286, A:GLU:286 or GLU A:286.",
            field=field,
        )
    return coords
