"""Ligand preparation: SMILES or a molecule file in, a Vina-ready PDBQT out.

Molecules go through RDKit and Meeko: largest fragment kept (salts and solvents stripped),
elements Vina cannot type refused naming the atom, the charge state for the pH set by
Dimorphite-DL, unspecified stereocentres flagged or enumerated, 3D coordinates from ETKDG
with a force-field clean-up when the input has none, and Meeko's atom typing and torsion
tree (macrocycles made flexible as Meeko does). Meeko writes the SMILES and atom mapping into
the PDBQT remarks, which is what lets docked poses come back out with their bond orders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from meeko import MoleculePreparation, PDBQTMolecule, PDBQTWriterLegacy
from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.Chem.EnumerateStereoisomers import EnumerateStereoisomers, StereoEnumerationOptions
from rdkit.rdBase import BlockLogs
from vina import Vina

from dockyard.chem.core import pdbqt
from dockyard.chem.core.fields import file_format
from dockyard.chem.core.formats import LIGAND_FORMATS
from dockyard.chem.core.options import DEFAULT_PH, MAX_STEREOISOMERS
from dockyard.chem.ligand.charge import protonate_ligand
from dockyard.chem.ligand.read import (
    MAX_HEAVY_ATOMS,
    check_elements,
    count_molecules,
    read_molecule,
    read_pdb_ligand,
    sanitize_problem,
)
from dockyard.errors import InputError

DEFAULT_SEED = 0xF00D


@dataclass
class PreparedLigand:
    name: str
    pdbqt: str
    smiles: str
    num_heavy_atoms: int
    notes: list[str] = field(default_factory=list)
    """What preparation changed, e.g. salts removed or coordinates generated."""
    isomers: list[PreparedLigand] = field(default_factory=list)
    """The other stereoisomers, when unspecified stereocentres were enumerated."""

    @classmethod
    def from_pdbqt(cls, text: str, name: str | None = None) -> PreparedLigand:
        """A PDBQT this library prepared and checked earlier (a stored job input), as is.

        Not checked again: Vina's own parse of a large ligand costs as much as half a second.
        """
        atoms = pdbqt.read_atoms(text, "ligand")
        return cls(
            name=name or _pdbqt_title(text) or "ligand",
            pdbqt=text,
            smiles=_remark_smiles(text),
            num_heavy_atoms=sum(not atom.is_hydrogen for atom in atoms),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "smiles": self.smiles,
            "num_heavy_atoms": self.num_heavy_atoms,
            "notes": list(self.notes),
            "stereoisomers": [self.smiles, *(isomer.smiles for isomer in self.isomers)]
            if self.isomers
            else [],
        }


def ligand_from_smiles(
    smiles: str,
    name: str | None = None,
    seed: int = DEFAULT_SEED,
    ph: float | None = DEFAULT_PH,
    stereo: str = "flag",
    allow_radicals: bool = False,
) -> PreparedLigand:
    """Prepare a ligand from SMILES (a trailing name, as in .smi files, is allowed).

    ``ph=None`` keeps the charges as written; ``stereo="enumerate"`` prepares every
    stereoisomer of unspecified centres (the others in ``.isomers``). A molecule with radical
    electrons is refused unless ``allow_radicals`` (then a note says so).
    """
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
                f"smiles {text!r} is not a valid molecule: {sanitize_problem(raw)}.",
                field="smiles",
            )
    return _prepare(mol, name or title or text, "smiles", seed, False, ph, stereo, allow_radicals)


def ligand_from_file(
    text: str,
    fmt: str,
    name: str | None = None,
    field: str = "ligand",
    ph: float | None = DEFAULT_PH,
    stereo: str = "flag",
    allow_radicals: bool = False,
) -> PreparedLigand:
    """Prepare the first molecule of an SDF, MOL, MOL2, PDB or PDBQT file.

    A PDBQT is used as it is (already typed). See :func:`ligand_from_smiles` for the rest.
    """
    kind = file_format(fmt, LIGAND_FORMATS, field)
    if not text or not text.strip():
        raise InputError(f"The {field} file is empty.", field=field)
    if kind == "pdbqt":
        return _ligand_from_pdbqt(text, name, field)
    notes = []
    if kind == "pdb":
        mol = read_pdb_ligand(text, field)
        notes.append(
            "Bond orders were perceived from the PDB geometry and its hydrogens."
            if any(atom.GetAtomicNum() == 1 for atom in mol.GetAtoms())
            else "Bond orders were read from the PDB CONECT records, hydrogens added to match."
        )
    else:
        mol = read_molecule(text, kind, field)
        count = count_molecules(text, kind)
        if count > 1:
            notes.append(
                f"The file holds {count} molecules; the first was used (dock many at once "
                "with a screening job)."
            )
    title = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
    ligand = _prepare(
        mol, name or title or "ligand", field, DEFAULT_SEED, True, ph, stereo, allow_radicals
    )
    ligand.notes[:0] = notes
    return ligand


def _prepare(
    mol: Chem.Mol,
    name: str,
    field_name: str,
    seed: int,
    expect_3d: bool,
    ph: float | None = DEFAULT_PH,
    stereo: str = "flag",
    allow_radicals: bool = False,
) -> PreparedLigand:
    """Largest fragment, elements, radicals, charge state, stereo, 3D coordinates, Meeko."""
    notes: list[str] = []
    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False)
    if len(fragments) > 1:
        mol = max(fragments, key=lambda frag: frag.GetNumHeavyAtoms())
        notes.append(
            f"Kept the largest of {len(fragments)} fragments "
            f"({Chem.MolToSmiles(Chem.RemoveHs(mol))}); counter-ions and solvents were removed."
        )
    check_elements(mol, field_name)
    radicals = radical_problem(mol, field_name)
    if radicals and not allow_radicals:
        raise InputError(radicals, field=field_name, code="radical_ligand")
    if radicals:
        notes.append(radicals)
    heavy = mol.GetNumHeavyAtoms()
    if heavy > MAX_HEAVY_ATOMS:
        raise InputError(
            f"The {field_name} has {heavy} heavy atoms, more than the {MAX_HEAVY_ATOMS} a "
            "docking ligand can have; is it a protein or a complex?",
            field=field_name,
        )
    has_3d = _has_3d_coordinates(mol)
    mol, note = protonate_ligand(mol, ph)
    if note:
        notes.append(note)
    variants = [mol]
    if not has_3d:
        variants, note = _stereo_variants(mol, stereo)
        if note:
            notes.append(note)
    prepared = []
    for variant in variants:
        ready = Chem.AddHs(variant, addCoords=True) if has_3d else _embed(variant, field_name, seed)
        prepared.append(
            PreparedLigand(
                name=name,
                pdbqt=meeko_pdbqt(ready, field_name),
                smiles=Chem.MolToSmiles(Chem.RemoveHs(ready)),
                num_heavy_atoms=heavy,
                notes=list(notes),
            )
        )
    if not has_3d and expect_3d:
        prepared[0].notes.append(
            "Generated 3D coordinates (RDKit ETKDG) because the file had none."
        )
    first = prepared[0]
    first.isomers = prepared[1:]
    return first


def radical_problem(mol: Chem.Mol, field_name: str) -> str | None:
    """Why a molecule with unpaired electrons is not docked as it is, naming its atoms; None
    for a closed-shell molecule.

    A radical is almost always a SMILES or file missing hydrogens (``[CH3]`` for methane,
    ``C[CH2]`` for ethane): hydrogens are not added to an atom that has a radical, and Vina's
    atom types and Meeko's charges assume closed shells.
    """
    atoms = [
        f"{atom.GetIdx() + 1} ({atom.GetSymbol()})"
        for atom in mol.GetAtoms()
        if atom.GetNumRadicalElectrons()
    ]
    if not atoms:
        return None
    return (
        f"The {field_name} has radical (unpaired) electrons on atom{'s' if len(atoms) > 1 else ''} "
        f"{', '.join(atoms[:10])}{' and more' if len(atoms) > 10 else ''}; it is most likely "
        "missing hydrogens (write methane as C, not [CH3]). Docking assumes every electron "
        "paired, so its poses and score would mean little."
    )


def _stereo_variants(mol: Chem.Mol, stereo: str) -> tuple[list[Chem.Mol], str | None]:
    """The molecule, or its stereoisomers, and a note about unspecified stereo."""
    with BlockLogs():
        unspecified = [
            info
            for info in Chem.FindPotentialStereo(Chem.RemoveHs(mol))
            if info.specified == Chem.StereoSpecified.Unspecified
        ]
    if not unspecified:
        return [mol], None
    centres = sum(info.type == Chem.StereoType.Atom_Tetrahedral for info in unspecified)
    bonds = len(unspecified) - centres
    what = " and ".join(
        part
        for part in (
            f"{centres} stereocentre{'s' if centres != 1 else ''}" if centres else "",
            f"{bonds} double bond{'s' if bonds != 1 else ''}" if bonds else "",
        )
        if part
    )
    if stereo != "enumerate":
        return [mol], (
            f"{what} with unspecified configuration: one configuration was embedded at "
            "random. Specify it in the SMILES, or choose stereo=enumerate to dock every "
            "stereoisomer."
        )
    options = StereoEnumerationOptions(
        onlyUnassigned=True, maxIsomers=MAX_STEREOISOMERS, unique=True, rand=None
    )
    with BlockLogs():
        isomers = list(EnumerateStereoisomers(Chem.RemoveHs(mol), options=options))
    total = 2 ** len(unspecified)
    more = f" (the first {len(isomers)} of {total})" if total > len(isomers) else ""
    smiles = ", ".join(Chem.MolToSmiles(isomer) for isomer in isomers)
    return isomers, f"{what} unspecified: enumerated {len(isomers)} stereoisomers{more}: {smiles}."


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


def meeko_pdbqt(mol: Chem.Mol, field_name: str) -> str:
    """Meeko's PDBQT for a molecule with hydrogens and 3D coordinates; InputError if not."""
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
    ligand = PreparedLigand.from_pdbqt(model, name)
    if not ligand.smiles:
        notes.append("The PDBQT has no SMILES remark, so poses are exported without bond orders.")
    ligand.notes = notes
    return ligand


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
