"""Repairing a receptor's polymer before typing: missing heavy atoms and distorted residues.

Raw PDB files miss side-chain atoms, and some carry residues so distorted that atoms of one
residue sit at bonding distance from atoms they are not bonded to (1OF6's LYS A:93 has NZ
1.8 Å from CA; in 1IA1 an aspartate oxygen is 1.5 Å from the carbonyl oxygen before it).
Meeko perceives bonds from distances, so such residues match no template. Here the
distortions are found from the standard bonds of each residue, the side chains involved are
deleted, and PDBFixer rebuilds them together with any missing heavy atoms. Only the new
atoms are copied back: everything else (including hydrogens in the input) stays as it was.
"""

from __future__ import annotations

import functools
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import gemmi
import numpy as np
from scipy.spatial import cKDTree

from dockyard.chem.residues import AMINO_ACIDS, VARIANT_PARENTS, find_residue, key, label

BACKBONE = frozenset({"N", "CA", "C", "O", "OXT"})
BONDED_MAX = 2.1
"""Å: two atoms the residue template bonds must be closer than this (C-S is 1.8 Å)."""
CLASH_MIN = 2.0
"""Å: two heavy atoms that are not bonded closer than this look bonded to Meeko."""
SEED = 1


@dataclass
class Repair:
    rebuilt: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@functools.cache
def _bond_table() -> dict[str, tuple[tuple[str, str], ...]]:
    import openmm.app

    path = Path(openmm.app.__file__).parent / "data" / "residues.xml"
    table = {}
    for residue in ET.parse(path).getroot():
        bonds = []
        for bond in residue.findall("Bond"):
            first, second = bond.get("from", ""), bond.get("to", "")
            if not first.startswith(("-", "+")) and not second.startswith(("-", "+")):
                bonds.append((first, second))
        table[residue.get("name", "")] = tuple(bonds)
    return table


def standard_bonds(resname: str) -> tuple[tuple[str, str], ...]:
    """Intra-residue bonds (atom name pairs, hydrogens included) of a standard residue."""
    return _bond_table().get(VARIANT_PARENTS.get(resname, resname), ())


def heavy_atom_names(resname: str) -> frozenset[str]:
    names = {n for pair in standard_bonds(resname) for n in pair if n[0] != "H"}
    return frozenset(names - {"OXT"})


def find_distortions(structure: gemmi.Structure) -> dict[str, str]:
    """Residues whose heavy atoms are not where their bonds say (key -> what is wrong).

    Only side chains can be rebuilt, so a problem is charged to the residue whose
    side-chain atom is involved.
    """
    problems: dict[str, str] = {}
    atoms: list[tuple[gemmi.Chain, gemmi.Residue, gemmi.Atom]] = []
    for chain in structure[0]:
        for residue in chain:
            bonds = standard_bonds(residue.name) if residue.name != "PRO" else ()
            heavy = {atom.name: atom for atom in residue if not atom.is_hydrogen()}
            bonded = set()
            for first, second in bonds:
                if first in heavy and second in heavy:
                    bonded.add(frozenset((first, second)))
                    gap = heavy[first].pos.dist(heavy[second].pos)
                    if gap > BONDED_MAX and _side_chain(first, second):
                        problems.setdefault(
                            key(chain, residue), f"{first}-{second} {gap:.1f} Å apart, not bonded"
                        )
            names = sorted(heavy)
            for i, first in enumerate(names):
                for second in names[i + 1 :]:
                    if bonds and frozenset((first, second)) not in bonded:
                        gap = heavy[first].pos.dist(heavy[second].pos)
                        if gap < CLASH_MIN and _side_chain(first, second):
                            problems.setdefault(
                                key(chain, residue), f"{first} {gap:.1f} Å from {second}"
                            )
            atoms += [(chain, residue, atom) for atom in heavy.values()]
    if not atoms:
        return problems
    coords = np.array([[a.pos.x, a.pos.y, a.pos.z] for _c, _r, a in atoms])
    for i, j in cKDTree(coords).query_pairs(CLASH_MIN):
        (chain_i, res_i, atom_i), (chain_j, res_j, atom_j) = atoms[i], atoms[j]
        if res_i is res_j or _expected_link(atom_i, atom_j):
            continue
        gap = float(np.linalg.norm(coords[i] - coords[j]))
        for chain, residue, atom, other in (
            (chain_i, res_i, atom_i, f"{atom_j.name} of {label(chain_j, res_j)}"),
            (chain_j, res_j, atom_j, f"{atom_i.name} of {label(chain_i, res_i)}"),
        ):
            if atom.name not in BACKBONE and standard_bonds(residue.name):
                problems.setdefault(key(chain, residue), f"{atom.name} {gap:.1f} Å from {other}")
    return problems


def _side_chain(*names: str) -> bool:
    return any(name not in BACKBONE for name in names)


def _expected_link(first: gemmi.Atom, second: gemmi.Atom) -> bool:
    names = {first.name, second.name}
    return names == {"C", "N"} or names == {"SG"} or names == {"O3'", "P"}


def find_missing_atoms(structure: gemmi.Structure) -> dict[str, list[str]]:
    """Amino acids lacking heavy atoms of their side chain or backbone (key -> atom names)."""
    missing = {}
    for chain in structure[0]:
        for residue in chain:
            if residue.name not in AMINO_ACIDS:
                continue
            present = {atom.name for atom in residue}
            names = sorted(heavy_atom_names(residue.name) - present)
            if names:
                missing[key(chain, residue)] = names
    return missing


def repair(structure: gemmi.Structure, distorted: dict[str, str]) -> Repair:
    """Rebuild distorted side chains and add missing heavy atoms, in place.

    A distorted side chain is replaced by the ideal one of PDBFixer's residue template, laid
    on the backbone and turned about its chi angles to the position farthest from other
    atoms. Missing atoms of otherwise sound residues are added by PDBFixer, which sees only
    those residues and their neighbours (a fraction of a second even on large complexes).
    """
    done = Repair()
    missing = find_missing_atoms(structure)
    stripped = _strip_side_chains(structure, distorted)
    for residue_key in sorted(stripped):
        _place_side_chain(structure, residue_key)
    added = _add_missing(structure, {k: v for k, v in missing.items() if k not in stripped})
    still = find_distortions(structure)
    again = {k: v for k, v in still.items() if k in added and k not in stripped}
    if again:
        stripped |= _strip_side_chains(structure, again)
        for residue_key in sorted(again):
            _place_side_chain(structure, residue_key)
        still = find_distortions(structure)
    for chain in structure[0]:
        for residue in chain:
            residue_key = key(chain, residue)
            if residue_key in stripped:
                reason = distorted.get(residue_key) or again.get(residue_key, "")
                done.rebuilt.append(f"{label(chain, residue)}: side chain rebuilt ({reason})")
            elif residue_key in added:
                names = ", ".join(added[residue_key])
                done.added.append(f"{label(chain, residue)}: added missing atoms {names}")
    for residue_key, reason in sorted(still.items()):
        done.warnings.append(f"Residue {residue_key} is still distorted ({reason}).")
    structure.setup_entities()
    return done


def _add_missing(structure: gemmi.Structure, todo: dict[str, list[str]]) -> dict[str, list[str]]:
    """Add missing heavy atoms with PDBFixer; residue key -> the atom names added."""
    if not todo:
        return {}
    fixer = _fixer(_neighbourhood(structure, set(todo)))
    fixer.missingResidues = {}
    fixer.findMissingAtoms()
    fixer.missingTerminals = {}
    fixer.missingAtoms = {
        residue: atoms
        for residue, atoms in fixer.missingAtoms.items()
        if _openmm_key(residue) in todo
    }
    names = {
        _openmm_key(residue): [atom.name for atom in atoms]
        for residue, atoms in fixer.missingAtoms.items()
    }
    if not names:
        return {}
    fixer.addMissingAtoms(seed=SEED)
    new_positions = _positions_by_residue(fixer, names)
    for chain in structure[0]:
        for residue in chain:
            residue_key = key(chain, residue)
            placed = new_positions.get(residue_key, {})
            for name in names.get(residue_key, []):
                if name in placed:
                    residue.add_atom(_atom(name, residue.name, placed[name]))
    return names


@functools.cache
def _template(resname: str) -> dict[str, np.ndarray]:
    import pdbfixer

    path = Path(pdbfixer.__file__).parent / "templates" / f"{resname}.pdb"
    if not path.exists():
        return {}
    return {
        line[12:16].strip(): np.array([float(line[i : i + 8]) for i in (30, 38, 46)])
        for line in path.read_text().splitlines()
        if line.startswith(("ATOM", "HETATM")) and not line[12:16].strip().startswith("H")
    }


def _place_side_chain(structure: gemmi.Structure, residue_key: str) -> None:
    """Lay the template's side chain on the residue's backbone, then turn it clear of clashes."""
    chain, index = find_residue(structure, residue_key)
    residue = chain[index]
    template = _template(VARIANT_PARENTS.get(residue.name, residue.name))
    atoms = {atom.name: atom for atom in residue}
    anchors = [name for name in ("N", "CA", "C", "CB") if name in atoms and name in template]
    if len(anchors) < 3:
        return
    target = np.array([[atoms[n].pos.x, atoms[n].pos.y, atoms[n].pos.z] for n in anchors])
    source = np.array([template[n] for n in anchors])
    rotation, shift = _superpose(source, target)
    for name, position in template.items():
        if name not in atoms and name != "OXT":
            residue.add_atom(_atom(name, residue.name, tuple(position @ rotation.T + shift)))
    _turn_side_chain(structure, residue_key)


def _superpose(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and shift that best lay ``source`` points on ``target`` (Kabsch)."""
    source_centre, target_centre = source.mean(axis=0), target.mean(axis=0)
    covariance = (source - source_centre).T @ (target - target_centre)
    u, _s, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(vt.T @ u.T))
    rotation = vt.T @ np.diag([1.0, 1.0, sign]) @ u.T
    return rotation, target_centre - source_centre @ rotation.T


def _atom(name: str, resname: str, position: tuple[float, float, float]) -> gemmi.Atom:
    atom = gemmi.Atom()
    atom.name = name
    atom.element = gemmi.Element(_element(name, resname))
    atom.pos = gemmi.Position(*position)
    atom.occ = 1.0
    atom.b_iso = 0.0
    return atom


def _neighbourhood(structure: gemmi.Structure, keys: set[str]) -> gemmi.Structure:
    """A copy holding only the residues ``keys`` and those within 10 Å of them."""
    centres = np.array(
        [
            [atom.pos.x, atom.pos.y, atom.pos.z]
            for chain in structure[0]
            for residue in chain
            if key(chain, residue) in keys
            for atom in residue
        ]
    )
    tree = cKDTree(centres)
    part = gemmi.Structure()
    part.cell = structure.cell
    model = gemmi.Model("1")
    for chain in structure[0]:
        copy = gemmi.Chain(chain.name)
        for residue in chain:
            coords = np.array([[a.pos.x, a.pos.y, a.pos.z] for a in residue])
            near = key(chain, residue) in keys or (
                len(coords) and np.isfinite(tree.query(coords, distance_upper_bound=10)[0]).any()
            )
            if near:
                copy.add_residue(residue)
        if len(copy):
            model.add_chain(copy)
    part.add_model(model)
    return part


def _strip_side_chains(structure: gemmi.Structure, distorted: dict[str, str]) -> set[str]:
    """Delete the side chains (beyond CB) and hydrogens of distorted residues."""
    stripped = set()
    for chain in structure[0]:
        for residue in chain:
            residue_key = key(chain, residue)
            if residue_key not in distorted or not standard_bonds(residue.name):
                continue
            keep = BACKBONE | {"CB"}
            if " CB " in distorted[residue_key] or distorted[residue_key].startswith("CB "):
                keep = BACKBONE
            if "OXT" in distorted[residue_key]:
                keep = keep - {"OXT"}  # a terminal oxygen in the side chain's place
            before = len(residue)
            for index in reversed(range(len(residue))):
                atom = residue[index]
                if atom.is_hydrogen() or atom.name not in keep:
                    del residue[index]
            if len(residue) < before:
                stripped.add(residue_key)
    return stripped


def _fixer(structure: gemmi.Structure):
    from pdbfixer import PDBFixer

    options = gemmi.PdbWriteOptions(minimal=True)
    text = structure.make_pdb_string(options)
    return PDBFixer(pdbfile=io.StringIO(text))


def _openmm_key(residue) -> str:  # an openmm.app.Residue
    return f"{residue.chain.id}:{residue.id.strip()}{(residue.insertionCode or '').strip()}"


def _positions_by_residue(fixer, wanted: dict[str, list[str]]) -> dict[str, dict[str, tuple]]:
    found: dict[str, dict[str, tuple]] = {}
    positions = fixer.positions.value_in_unit(_angstrom())
    for residue in fixer.topology.residues():
        residue_key = _openmm_key(residue)
        if residue_key in wanted:
            found[residue_key] = {
                atom.name: tuple(float(v) for v in positions[atom.index])
                for atom in residue.atoms()
            }
    return found


def _angstrom():
    from openmm import unit

    return unit.angstrom


def _element(atom_name: str, resname: str) -> str:
    if resname in ("MET", "CYS") and atom_name.startswith("S"):
        return "S"
    return atom_name[0]


_CHI_AXES = (
    (("CA", "CB"),),
    (("CB", "CG"), ("CB", "CG1"), ("CB", "OG"), ("CB", "OG1"), ("CB", "SG")),
    (("CG", "CD"), ("CG", "SD"), ("CG1", "CD1")),
)


def _turn_side_chain(structure: gemmi.Structure, residue_key: str) -> None:
    """Turn a side chain about chi1-chi3 to the angles farthest from other atoms."""
    chain, index = find_residue(structure, residue_key)
    residue = chain[index]
    if residue.name in ("PRO", "GLY", "ALA"):
        return
    atoms = {atom.name: atom for atom in residue if not atom.is_hydrogen()}
    moving = [name for name in atoms if name not in BACKBONE | {"CB"}]
    if not moving:
        return
    graph = _graph(residue.name)
    axes = []
    for choices in _CHI_AXES:
        axes += [(a, b) for a, b in choices if a in atoms and b in atoms][:1]
    environment = np.array(
        [
            [atom.pos.x, atom.pos.y, atom.pos.z]
            for other_chain in structure[0]
            for other in other_chain
            if other is not residue
            for atom in other
            if not atom.is_hydrogen() and atom.pos.dist(atoms["CA"].pos) < 16.0
        ]
        + [[atoms[n].pos.x, atoms[n].pos.y, atoms[n].pos.z] for n in ("N", "C", "O") if n in atoms]
    )
    tree = cKDTree(environment)
    names = list(atoms)
    start = np.array([[atoms[n].pos.x, atoms[n].pos.y, atoms[n].pos.z] for n in names])
    index = {name: i for i, name in enumerate(names)}
    turning = [
        (index[a], index[b], [index[n] for n in _beyond(graph, a, b) if n in index])
        for a, b in axes
    ]
    moved_rows = [index[name] for name in moving]
    best, best_score = start, -1.0
    angles = np.radians(np.arange(0, 360, 30))
    third_angles = np.radians(np.arange(0, 360, 60)) if len(axes) > 2 else [0.0]
    for first in angles:
        for second in angles if len(axes) > 1 else [0.0]:
            for third in third_angles:
                coords = start.copy()
                for (a, b, rows), angle in zip(turning, (first, second, third), strict=False):
                    coords[rows] = _rotate(coords[rows], coords[a], coords[b], angle)
                score = float(tree.query(coords[moved_rows])[0].min())
                if score > best_score + 1e-6:
                    best, best_score = coords, score
    for name in moving:
        atoms[name].pos = gemmi.Position(*best[index[name]])


def _graph(resname: str) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for first, second in standard_bonds(resname):
        graph.setdefault(first, set()).add(second)
        graph.setdefault(second, set()).add(first)
    return graph


def _beyond(graph: dict[str, set[str]], pivot: str, start: str) -> set[str]:
    """Atoms reached from ``start`` without passing ``pivot`` (the side that turns)."""
    seen, todo = {start}, [start]
    while todo:
        for neighbour in graph.get(todo.pop(), ()):
            if neighbour != pivot and neighbour not in seen and neighbour not in BACKBONE:
                seen.add(neighbour)
                todo.append(neighbour)
    return seen - {start}


def _rotate(points: np.ndarray, a: np.ndarray, b: np.ndarray, angle: float) -> np.ndarray:
    """``points`` turned by ``angle`` about the axis from ``a`` to ``b`` (Rodrigues)."""
    axis = (b - a) / np.linalg.norm(b - a)
    cos, sin = np.cos(angle), np.sin(angle)
    v = points - b
    turned = v * cos + np.cross(axis, v) * sin + np.outer(v @ axis, axis) * (1 - cos)
    return turned + b
