"""Kept hetero groups as rigid receptor atoms: metal ions, waters and cofactors.

Metal ions get their Vina type; a water is its oxygen (an acceptor, OA). A cofactor with a
bond-order template (:data:`~dockyard.chem.receptor.templates.COFACTOR_SMILES`) gets its bond orders
and charges from it, hydrogens for pH 7, and Meeko's atom types, exactly like a ligand. A
group without a template is typed from its elements and geometry only (carbons C, oxygens
OA, nitrogens N or NA by their number of neighbours, no polar hydrogens), and the report
says so.

With ``keep_hetero=auto`` (:func:`lining_groups`) only the metals and cofactors that line the
docking box are kept: one that binds next to the ligand changes where it goes (a zinc in a
metalloprotease, the NADPH of a reductase), one across the protein only costs typing time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meeko import MoleculePreparation
from rdkit import Chem
from rdkit.Chem import AllChem, rdDetermineBonds
from rdkit.rdBase import BlockLogs

from dockyard.chem.core.atom_lines import atom_line
from dockyard.chem.core.box import Box
from dockyard.chem.core.elements import METAL_TYPES
from dockyard.chem.core.options import HETERO_LINING
from dockyard.chem.receptor.clean import HeteroGroup
from dockyard.chem.receptor.templates import COFACTOR_SMILES

_ELEMENT_TYPES = {"C": "C", "O": "OA", "S": "SA", "P": "P", "F": "F", "CL": "Cl", "BR": "Br"}
_ELEMENT_TYPES |= {"I": "I", "H": "H"}


@dataclass
class TypedGroups:
    pdbqt_lines: list[str] = field(default_factory=list)
    pdb_lines: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Selection:
    """The hetero groups ``keep_hetero=auto`` keeps, and why each was kept or removed."""

    kept: list[HeteroGroup] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    """Group label -> why it was kept (for the report's kept list)."""
    removed: list[str] = field(default_factory=list)


def lining_groups(groups: list[HeteroGroup], box: Box | None) -> Selection:
    """The metals and cofactors within :data:`HETERO_LINING` Å of ``box`` (every one when
    there is no box); waters are left as the options chose them."""
    chosen = Selection()
    for group in groups:
        if group.kind == "water":
            chosen.kept.append(group)
            continue
        if box is None:
            chosen.kept.append(group)
            chosen.reasons[group.label] = "no box given"
            continue
        distance = box.distance_to([atom[2:] for atom in group.atoms])
        if distance <= HETERO_LINING:
            chosen.kept.append(group)
            chosen.reasons[group.label] = (
                "in the box" if distance == 0 else f"{distance:.1f} Å from the box"
            )
        else:
            chosen.removed.append(
                f"{group.label}: {group.kind} {distance:.1f} Å from the box, beyond the "
                f"{HETERO_LINING:g} Å keep_hetero=auto keeps"
            )
    return chosen


def type_groups(
    groups: list[HeteroGroup], first_serial: int, reasons: dict[str, str] | None = None
) -> TypedGroups:
    """PDBQT and PDB lines for the kept groups, numbered from ``first_serial``; ``reasons``
    (by label) says in the kept list why a group was kept."""
    done = TypedGroups()
    serial = first_serial
    for group in groups:
        try:
            atoms, note = _typed_atoms(group)
        except ValueError as error:
            done.removed.append(f"{group.label}: {error}")
            continue
        if not atoms:
            done.removed.append(f"{group.label}: no atoms Vina can type")
            continue
        chain, _, number = group.key.partition(":")
        resnum, icode = (number[:-1], number[-1]) if number[-1:].isalpha() else (number, "")
        for name, element, ad_type, charge, xyz, in_pdbqt in atoms:
            serial += 1
            where = ("HETATM", serial, name, group.name, chain, int(resnum), icode, xyz)
            done.pdb_lines.append(atom_line(*where, element=element.upper()))
            if in_pdbqt:
                done.pdbqt_lines.append(atom_line(*where, charge=charge, ad_type=ad_type))
        why = (reasons or {}).get(group.label)
        done.kept.append(f"{group.label} ({group.kind}{f', {why}' if why else ''}{note})")
        if note:
            done.warnings.append(f"{group.label}{note}.")
    return done


Atom = tuple[str, str, str, float, tuple[float, float, float], bool]


def _typed_atoms(group: HeteroGroup) -> tuple[list[Atom], str]:
    if group.kind == "ion":
        name, element, x, y, z = group.atoms[0]
        ad_type = METAL_TYPES.get(element.upper())
        if ad_type is None:
            raise ValueError(f"Vina has no atom type for {element}")
        return [(name, element, ad_type, 0.0, (x, y, z), True)], ""
    if group.kind == "water":
        oxygen = [atom for atom in group.atoms if atom[1].upper() == "O"]
        return [(n, e, "OA", 0.0, (x, y, z), True) for n, e, x, y, z in oxygen], ""
    metals = [atom for atom in group.atoms if atom[1].upper() in METAL_TYPES]
    organic = [atom for atom in group.atoms if atom not in metals and atom[1].upper() != "H"]
    typed = [(n, e, METAL_TYPES[e.upper()], 0.0, (x, y, z), True) for n, e, x, y, z in metals]
    template = COFACTOR_SMILES.get(group.name)
    mol = _heavy_mol(organic)
    if template is not None:
        try:
            return typed + _meeko_atoms(mol, template, organic), ""
        except ValueError:
            pass
    note = (
        ": no bond-order template matched, typed from elements only (no polar hydrogens)"
        if template is not None
        else ": not a known cofactor, typed from elements only (no polar hydrogens)"
    )
    return typed + _element_atoms(mol, organic), note


def _heavy_mol(atoms: list[tuple[str, str, float, float, float]]) -> Chem.Mol:
    editable = Chem.RWMol()
    conformer = Chem.Conformer(len(atoms))
    for index, (_name, element, x, y, z) in enumerate(atoms):
        atom = Chem.Atom(element.capitalize())
        atom.SetNoImplicit(True)
        editable.AddAtom(atom)
        conformer.SetAtomPosition(index, (x, y, z))
    mol = editable.GetMol()
    mol.AddConformer(conformer, assignId=True)
    with BlockLogs():
        rdDetermineBonds.DetermineConnectivity(mol)
    return mol


def _meeko_atoms(mol: Chem.Mol, smiles: str, atoms: list) -> list[Atom]:
    template = Chem.MolFromSmiles(smiles)
    if template is None or template.GetNumAtoms() != mol.GetNumAtoms():
        raise ValueError("template does not match")
    for atom in mol.GetAtoms():
        atom.SetNoImplicit(False)
    with BlockLogs():
        matched = AllChem.AssignBondOrdersFromTemplate(template, mol)
        Chem.SanitizeMol(matched)
        with_h = Chem.AddHs(matched, addCoords=True)
        setup = MoleculePreparation(rigid_macrocycles=True).prepare(with_h)[0]
    result = []
    for atom in setup.atoms:
        if atom.is_dummy or atom.index >= with_h.GetNumAtoms():
            continue
        rd_atom = with_h.GetAtomWithIdx(atom.index)
        position = tuple(float(v) for v in setup.get_coord(atom.index))
        name = f"H{atom.index + 1}"[:4] if rd_atom.GetAtomicNum() == 1 else atoms[atom.index][0]
        result.append(
            (
                name,
                rd_atom.GetSymbol(),
                atom.atom_type,
                float(atom.charge),
                position,
                not atom.is_ignore,
            )
        )
    return result


def _element_atoms(mol: Chem.Mol, atoms: list) -> list[Atom]:
    result = []
    for rd_atom, (name, element, x, y, z) in zip(mol.GetAtoms(), atoms, strict=True):
        symbol = element.upper()
        if symbol == "N":
            ad_type = "N" if rd_atom.GetDegree() >= 3 else "NA"
        elif symbol in _ELEMENT_TYPES:
            ad_type = _ELEMENT_TYPES[symbol]
        else:
            raise ValueError(f"Vina has no atom type for {element}")
        result.append((name, element, ad_type, 0.0, (x, y, z), True))
    return result
