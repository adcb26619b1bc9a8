"""Protonation states of receptor residues at a chosen pH, by model pKa.

ASP, GLU, HIS, LYS and CYS take the state their standard pKa gives at the pH
(as PDBFixer and PDB2PQR without PROPKA do). A neutral histidine gets its hydrogen on the
ring nitrogen that can donate a hydrogen bond (HID or HIE), judged from the acceptors and
donors around ND1 and NE2; a nitrogen next to a metal stays unprotonated. The chosen state is
written as the residue name (HID, GLH, LYN …) that Meeko's templates know. Residues that
already carry hydrogens keep the states the input gave them.
"""

from __future__ import annotations

from collections import Counter

import gemmi
import numpy as np
from scipy.spatial import cKDTree

from dockyard.chem.receptor.clean import HeteroGroup
from dockyard.chem.residues import key

PKA = {"ASP": 3.9, "GLU": 4.2, "HIS": 6.0, "CYS": 8.3, "LYS": 10.5}
"""Model pKa values of the side chains whose state depends on pH."""

HBOND = 3.3
"""Å: a polar atom this close to a histidine nitrogen makes a hydrogen bond with it."""
METAL_BOND = 2.6

_ACCEPTORS = {
    "O": None,
    "OD1": ("ASP", "ASN"),
    "OD2": ("ASP",),
    "OE1": ("GLU", "GLN"),
    "OE2": ("GLU",),
    "OXT": None,
}
_DONORS = {
    "N": None,
    "NZ": ("LYS",),
    "NE": ("ARG",),
    "NH1": ("ARG",),
    "NH2": ("ARG",),
    "ND2": ("ASN",),
    "NE2": ("GLN",),
    "NE1": ("TRP",),
}
_EITHER = {"OG": ("SER",), "OG1": ("THR",), "OH": ("TYR",)}


def assign_residue_states(
    structure: gemmi.Structure, ph: float | None, kept: list[HeteroGroup]
) -> dict[str, object]:
    """Rename residues to their protonation variants (in place); a summary for the report."""
    model = structure[0]
    if ph is None:
        return {"ph": None, "note": "protonation states kept as in the input"}
    polar = _polar_atoms(model)
    metals = np.array(
        [atom[2:] for group in kept if group.kind == "ion" for atom in group.atoms]
    ).reshape(-1, 3)
    states: Counter[str] = Counter()
    changed = []
    disulfides = _disulfide_cysteines(model)
    for chain in model:
        for residue in chain:
            name = residue.name
            if name not in PKA or any(atom.is_hydrogen() for atom in residue):
                continue
            residue_key = key(chain, residue)
            new = name
            if name == "ASP" and ph < PKA["ASP"]:
                new = "ASH"
            elif name == "GLU" and ph < PKA["GLU"]:
                new = "GLH"
            elif name == "LYS" and ph > PKA["LYS"]:
                new = "LYN"
            elif name == "CYS" and ph > PKA["CYS"] and residue_key not in disulfides:
                new = "CYM"
            elif name == "HIS":
                new = "HIP" if ph < PKA["HIS"] else _neutral_histidine(residue, polar, metals)
                states[new] += 1
            if new != name:
                residue.name = new
                if name != "HIS":
                    changed.append(f"{name} {residue_key} as {new}")
    summary: dict[str, object] = {"ph": ph, "histidines": dict(sorted(states.items()))}
    if changed:
        summary["changed"] = changed
    return summary


def _polar_atoms(model: gemmi.Model) -> tuple[cKDTree | None, list[tuple[str, str, str]]]:
    rows, coords = [], []
    for chain in model:
        for residue in chain:
            for atom in residue:
                if atom.element.name in ("N", "O"):
                    rows.append((residue.name, atom.name, key(chain, residue)))
                    coords.append((atom.pos.x, atom.pos.y, atom.pos.z))
    return (cKDTree(np.array(coords)) if coords else None), rows


def _role(resname: str, atom_name: str) -> str:
    for table, role in ((_ACCEPTORS, "acceptor"), (_DONORS, "donor"), (_EITHER, "either")):
        if atom_name in table and (table[atom_name] is None or resname in table[atom_name]):
            return role
    return ""


def _neutral_histidine(residue: gemmi.Residue, polar, metals: np.ndarray) -> str:
    """HID (H on ND1) or HIE (H on NE2): the one whose H makes the better hydrogen bond."""
    tree, rows = polar
    own = {atom.name: atom for atom in residue}
    score = {"ND1": 0.0, "NE2": 0.0}
    for name in score:
        atom = own.get(name)
        if atom is None or tree is None:
            continue
        position = np.array([atom.pos.x, atom.pos.y, atom.pos.z])
        if len(metals) and (np.linalg.norm(metals - position, axis=1) < METAL_BOND).any():
            score[name] -= 10  # coordinates a metal: no hydrogen there
        for index in tree.query_ball_point(position, HBOND):
            resname, atom_name, _ = rows[index]
            if resname == residue.name and atom_name in own:
                continue
            role = _role(resname, atom_name)
            score[name] += {"acceptor": 1.0, "donor": -1.0, "either": 0.25}.get(role, 0.0)
    return "HID" if score["ND1"] > score["NE2"] else "HIE"


def _disulfide_cysteines(model: gemmi.Model) -> set[str]:
    sulfurs = [
        (key(chain, residue), atom.pos)
        for chain in model
        for residue in chain
        if residue.name in ("CYS", "CYX")
        for atom in residue
        if atom.name == "SG"
    ]
    bonded = set()
    for i, (first, pos_i) in enumerate(sulfurs):
        for second, pos_j in sulfurs[i + 1 :]:
            if pos_i.dist(pos_j) < 2.5:
                bonded |= {first, second}
    return bonded
