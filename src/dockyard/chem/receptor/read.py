"""Reading a receptor file: PDB or mmCIF as a gemmi Structure, or a rigid receptor PDBQT.

Reading refuses what no later step could use (an empty file, no atoms, coordinates that are
not numbers, no polymer, a ligand PDBQT) with a message naming the problem.
"""

from __future__ import annotations

import gemmi
import numpy as np

from dockyard.chem.core import pdbqt
from dockyard.chem.core.fields import file_format
from dockyard.chem.core.formats import RECEPTOR_FORMATS
from dockyard.chem.residues import is_biopolymer
from dockyard.errors import InputError

FIELD = "receptor"

_PDBQT_FLEX_TAGS = ("ROOT", "ENDROOT", "BRANCH", "ENDBRANCH", "TORSDOF", "BEGIN_RES", "END_RES")
_PDBQT_KEPT_TAGS = ("REMARK", "TER", "WARNING")


def check_receptor(text: str, fmt: str) -> None:
    """Cheap validation: the file reads and holds a polymer. Preparation does the rest."""
    kind = receptor_kind(fmt)
    if kind == "pdbqt":
        read_pdbqt(text)
    else:
        read_structure(text, kind)


def receptor_kind(fmt: str) -> str:
    """ "pdb", "cif" or "pdbqt" for a receptor file format; UnsupportedFileError otherwise."""
    kind = file_format(fmt, RECEPTOR_FORMATS, FIELD)
    return "cif" if kind == "mmcif" else kind


def read_structure(text: str, kind: str) -> gemmi.Structure:
    """A PDB or mmCIF text as a gemmi Structure with at least one polymer residue."""
    if not text or not text.strip():
        raise InputError("The receptor file is empty.", field=FIELD)
    if kind == "pdb":
        structure = _read_pdb(text)
    else:
        try:
            document = gemmi.cif.read_string(text)
            structure = gemmi.make_structure_from_block(document.sole_block())
        except (RuntimeError, ValueError) as error:
            raise InputError(
                f"The receptor mmCIF file could not be read: {error}", field=FIELD
            ) from None
        if len(structure) == 0 or not any(len(chain) for chain in structure[0]):
            raise InputError(
                "The receptor mmCIF file has no atoms (no _atom_site records).", field=FIELD
            )
        structure.shorten_chain_names()
    if not any(is_biopolymer(residue.name) for chain in structure[0] for residue in chain):
        raise InputError(
            "The receptor has no amino-acid or nucleotide residues; upload the protein "
            "structure (the ligand goes in the ligand field).",
            field=FIELD,
        )
    return structure


def _read_pdb(text: str) -> gemmi.Structure:
    atom_lines = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith(("ATOM  ", "HETATM")):
            atom_lines += 1
            _check_pdb_coordinates(line, lineno)
    if not atom_lines:
        raise InputError(
            "The receptor file has no ATOM or HETATM records; is it a PDB file?", field=FIELD
        )
    try:
        return gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError) as error:
        raise InputError(f"The receptor PDB file could not be read: {error}", field=FIELD) from None


def _check_pdb_coordinates(line: str, lineno: int) -> None:
    for start, axis in ((30, "x"), (38, "y"), (46, "z")):
        raw = line[start : start + 8].strip()
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not np.isfinite(value):
            raise InputError(
                f"Line {lineno} of the receptor PDB file has {axis} coordinate {raw!r}, "
                "which is not a finite number.",
                field=FIELD,
            )


def read_pdbqt(text: str) -> tuple[list[pdbqt.PdbqtAtom], str, list[str]]:
    """The atoms of a rigid receptor PDBQT, its text as Vina accepts it, and warnings."""
    if not text or not text.strip():
        raise InputError("The receptor file is empty.", field=FIELD)
    atoms: list[pdbqt.PdbqtAtom] = []
    kept: list[str] = []
    dropped: set[str] = set()
    models = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith("MODEL"):
            models += 1
        elif line.startswith("ENDMDL") or models > 1:
            continue
        elif pdbqt.is_atom_line(line):
            atoms.append(pdbqt.parse_atom_line(line, lineno, FIELD))
            kept.append(line.rstrip())
        elif line.startswith(_PDBQT_FLEX_TAGS):
            raise InputError(
                f"Line {lineno} of the receptor PDBQT file is {line.split()[0]}: this is a "
                "ligand or flexible-residue PDBQT, not a rigid receptor.",
                field=FIELD,
            )
        elif line.startswith(_PDBQT_KEPT_TAGS):
            kept.append(line.rstrip())
        elif line.strip():
            dropped.add(line.split()[0][:6])
    if not atoms:
        raise InputError("The receptor PDBQT file has no ATOM or HETATM records.", field=FIELD)
    if not any(is_biopolymer(atom.resname) for atom in atoms):
        raise InputError(
            "The receptor has no amino-acid or nucleotide residues; upload the protein "
            "structure (the ligand goes in the ligand field).",
            field=FIELD,
        )
    warnings = []
    if models > 1:
        warnings.append(f"Used the first of {models} models.")
    if dropped:
        warnings.append(f"Ignored records Vina does not read: {', '.join(sorted(dropped))}.")
    return atoms, "\n".join(kept) + "\n", warnings
