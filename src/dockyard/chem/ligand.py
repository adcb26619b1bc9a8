"""Ligand preparation: SMILES or a molecule file in, a Vina-ready PDBQT out.

Molecules go through RDKit (parsing, hydrogens, 3D coordinates when missing) and Meeko
(atom typing, torsion tree). Meeko writes the SMILES and atom mapping into the PDBQT
remarks, which is what lets docked poses come back out with their bond orders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import gemmi
import numpy as np
from meeko import MoleculePreparation, PDBQTMolecule, PDBQTWriterLegacy
from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.rdBase import BlockLogs
from vina import Vina

from dockyard.chem import pdbqt
from dockyard.chem._fields import file_format
from dockyard.chem.box import REFERENCE_FORMATS
from dockyard.errors import InputError

LIGAND_FORMATS = ("sdf", "mol", "mol2", "pdbqt")

LIGAND_ELEMENTS = frozenset({"H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Br", "I"})
"""Elements Meeko can type for Vina; anything else (metals, Se, Sn …) fails later anyway."""

MAX_HEAVY_ATOMS = 200
"""Beyond this a "ligand" is almost always a protein or complex uploaded by mistake."""

DEFAULT_SEED = 0xF00D


@dataclass
class PreparedLigand:
    name: str
    pdbqt: str
    smiles: str
    num_heavy_atoms: int
    notes: list[str] = field(default_factory=list)
    """What preparation changed, e.g. salts removed or coordinates generated."""


def ligand_from_smiles(
    smiles: str, name: str | None = None, seed: int = DEFAULT_SEED
) -> PreparedLigand:
    """Prepare a ligand from SMILES (a trailing name, as in .smi files, is allowed)."""
    text, _, title = " ".join((smiles or "").split()).partition(" ")
    if not text:
        raise InputError(
            "smiles is empty; enter a SMILES string such as c1ccccc1O.", field="smiles"
        )
    with BlockLogs():
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            raw = Chem.MolFromSmiles(text, sanitize=False)
            if raw is None:
                raise InputError(f"smiles {text!r} is not valid SMILES.", field="smiles")
            raise InputError(
                f"smiles {text!r} is not a valid molecule: {_sanitize_problem(raw)}.",
                field="smiles",
            )
    return _prepare(mol, name or title or text, "smiles", seed, expect_3d=False)


def ligand_from_file(
    text: str, fmt: str, name: str | None = None, field: str = "ligand"
) -> PreparedLigand:
    """Prepare the first molecule of an SDF, MOL, MOL2 or PDBQT file."""
    kind = file_format(fmt, LIGAND_FORMATS, field)
    if not text or not text.strip():
        raise InputError(f"The {field} file is empty.", field=field)
    if kind == "pdbqt":
        return _ligand_from_pdbqt(text, name, field)
    mol = _read_molecule(text, kind, field)
    title = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
    return _prepare(mol, name or title or "ligand", field, DEFAULT_SEED, expect_3d=True)


def read_reference_coordinates(text: str, fmt: str) -> np.ndarray:
    """Heavy-atom coordinates (n by 3) of a reference ligand, for a box around it.

    Chemistry is not checked here: a crystal ligand that RDKit cannot sanitize still
    says where the pocket is.
    """
    field_name = "reference_ligand"
    kind = file_format(fmt, REFERENCE_FORMATS, field_name)
    if not text or not text.strip():
        raise InputError("The reference_ligand file is empty.", field=field_name)
    if kind == "pdbqt":
        atoms = pdbqt.read_atoms(pdbqt.first_model(text)[0], field_name)
        coords = [(a.x, a.y, a.z) for a in atoms if not a.is_hydrogen]
    elif kind == "pdb":
        coords = _pdb_heavy_coordinates(text)
    else:
        mol = _parse_molecule(text, kind, sanitize=False)
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


def _read_molecule(text: str, kind: str, field_name: str) -> Chem.Mol:
    with BlockLogs():
        mol = _parse_molecule(text, kind, sanitize=True)
        if mol is None:
            raw = _parse_molecule(text, kind, sanitize=False)
            if raw is None or raw.GetNumAtoms() == 0:
                raise InputError(
                    f"No molecule could be read from the {field_name} file "
                    f"(is it really {kind.upper()}?).",
                    field=field_name,
                )
            raise InputError(
                f"The {field_name} molecule is not chemically valid: {_sanitize_problem(raw)}.",
                field=field_name,
            )
    if mol.GetNumAtoms() == 0:
        raise InputError(f"The {field_name} file holds a molecule with no atoms.", field=field_name)
    return mol


def _parse_molecule(text: str, kind: str, sanitize: bool) -> Chem.Mol | None:
    """The first molecule of an SDF/MOL/MOL2 text, or None."""
    if kind == "mol2":
        return Chem.MolFromMol2Block(text, sanitize=sanitize, removeHs=False)
    block = re.split(r"^\$\$\$\$", text, maxsplit=1, flags=re.MULTILINE)[0]
    return Chem.MolFromMolBlock(block, sanitize=sanitize, removeHs=False)


def _sanitize_problem(mol: Chem.Mol) -> str:
    try:
        Chem.SanitizeMol(mol)
    except Exception as error:
        return str(error).strip() or type(error).__name__
    return "RDKit could not process it"


def _pdb_heavy_coordinates(text: str) -> list[tuple[float, float, float]]:
    try:
        structure = gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError) as error:
        raise InputError(
            f"The reference_ligand PDB file could not be read: {error}", field="reference_ligand"
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


def _prepare(
    mol: Chem.Mol, name: str, field_name: str, seed: int, *, expect_3d: bool
) -> PreparedLigand:
    """Largest fragment, element check, 3D coordinates with hydrogens, then Meeko."""
    notes: list[str] = []
    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False)
    if len(fragments) > 1:
        mol = max(fragments, key=lambda frag: frag.GetNumHeavyAtoms())
        notes.append(
            f"Kept the largest of {len(fragments)} fragments "
            f"({Chem.MolToSmiles(Chem.RemoveHs(mol))}); counter-ions and solvents were removed."
        )
    _check_elements(mol, field_name)
    heavy = mol.GetNumHeavyAtoms()
    if heavy > MAX_HEAVY_ATOMS:
        raise InputError(
            f"The {field_name} has {heavy} heavy atoms, more than the {MAX_HEAVY_ATOMS} a "
            "docking ligand can have; is it a protein or a complex?",
            field=field_name,
        )
    if _has_3d_coordinates(mol):
        mol = Chem.AddHs(mol, addCoords=True)
    else:
        mol = _embed(mol, field_name, seed)
        if expect_3d:
            notes.append("Generated 3D coordinates (RDKit ETKDG) because the file had none.")
    pdbqt_text = _meeko_pdbqt(mol, field_name)
    return PreparedLigand(
        name=name,
        pdbqt=pdbqt_text,
        smiles=Chem.MolToSmiles(Chem.RemoveHs(mol)),
        num_heavy_atoms=heavy,
        notes=notes,
    )


def _check_elements(mol: Chem.Mol, field_name: str) -> None:
    for atom in mol.GetAtoms():
        symbol = atom.GetSymbol()
        if symbol not in LIGAND_ELEMENTS:
            allowed = ", ".join(sorted(LIGAND_ELEMENTS))
            raise InputError(
                f"The {field_name} contains {symbol} (atom {atom.GetIdx() + 1}), which Vina "
                f"cannot dock; supported elements are {allowed}.",
                field=field_name,
            )


def _has_3d_coordinates(mol: Chem.Mol) -> bool:
    if mol.GetNumConformers() == 0:
        return False
    return bool(np.abs(mol.GetConformer().GetPositions()[:, 2]).max() > 1e-3)


def _embed(mol: Chem.Mol, field_name: str, seed: int) -> Chem.Mol:
    """3D coordinates from ETKDGv3 with a fixed seed, tidied by MMFF (UFF if MMFF lacks types)."""
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mol, params) != 0:
        params.useRandomCoords = True
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise InputError(
                f"Could not generate 3D coordinates for the {field_name}; check its "
                "stereochemistry or upload a 3D structure (SDF or MOL2).",
                field=field_name,
            )
    with BlockLogs():
        if AllChem.MMFFHasAllMoleculeParams(mol):
            AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
        elif AllChem.UFFHasAllMoleculeParams(mol):
            AllChem.UFFOptimizeMolecule(mol, maxIters=2000)
    return mol


def _meeko_pdbqt(mol: Chem.Mol, field_name: str) -> str:
    try:
        setups = MoleculePreparation().prepare(mol)
        text, ok, error = PDBQTWriterLegacy.write_string(setups[0])
    except Exception as exc:
        raise InputError(
            f"Meeko could not prepare the {field_name}: {_name_atom(mol, str(exc))}",
            field=field_name,
        ) from exc
    if not ok:
        raise InputError(
            f"Meeko could not prepare the {field_name}: {_name_atom(mol, error)}",
            field=field_name,
        )
    return text


def _name_atom(mol: Chem.Mol, message: str) -> str:
    """Meeko's first error line, with its 0-based "atom number N" given an element."""
    line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    match = re.search(r"atom number (\d+)", line)
    if match and int(match.group(1)) < mol.GetNumAtoms():
        index = int(match.group(1))
        symbol = mol.GetAtomWithIdx(index).GetSymbol()
        line = f"{line} (atom {index + 1} is {symbol})"
    return line


def _ligand_from_pdbqt(text: str, name: str | None, field_name: str) -> PreparedLigand:
    """Pass a PDBQT ligand through unchanged once Vina and Meeko both read it."""
    notes: list[str] = []
    model, count = pdbqt.first_model(text)
    if count > 1:
        notes.append(f"Used the first of {count} models in the PDBQT file.")
    atoms = pdbqt.read_atoms(model, field_name)
    if not atoms:
        raise InputError(f"The {field_name} PDBQT file has no ATOM lines.", field=field_name)
    try:
        Vina(verbosity=0).set_ligand_from_string(model)
    except Exception as error:
        raise InputError(
            f"Vina cannot read the {field_name} PDBQT file: {_vina_problem(error)}",
            field=field_name,
        ) from None
    try:
        PDBQTMolecule(model)
    except Exception as error:
        raise InputError(
            f"The {field_name} PDBQT file could not be read: {error}", field=field_name
        ) from None
    smiles = _remark_smiles(model)
    if not smiles:
        notes.append("The PDBQT has no SMILES remark, so poses are exported without bond orders.")
    return PreparedLigand(
        name=name or _pdbqt_title(model) or "ligand",
        pdbqt=model,
        smiles=smiles,
        num_heavy_atoms=sum(not atom.is_hydrogen for atom in atoms),
        notes=notes,
    )


def _pdbqt_title(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("REMARK  Name ="):
            return line.partition("=")[2].strip()
    return ""


def _remark_smiles(text: str) -> str:
    """Canonical SMILES from Meeko's ``REMARK SMILES`` line, or "" if there is none."""
    for line in text.splitlines():
        words = line.split()
        if len(words) == 3 and words[:2] == ["REMARK", "SMILES"]:
            with BlockLogs():
                mol = Chem.MolFromSmiles(words[2])
            return Chem.MolToSmiles(mol) if mol is not None else ""
    return ""


def _vina_problem(error: Exception) -> str:
    """The useful sentence of Vina's parse error, without the SWIG boilerplate."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    useful = [line for line in lines[:3] if not line.startswith("Additional information")]
    return " ".join(useful).removeprefix("PDBQT parsing error: ") or type(error).__name__
