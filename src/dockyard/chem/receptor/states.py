"""Protonation states of receptor residues at a chosen pH, from PROPKA's pKa values.

PROPKA (:mod:`.pka`) gives each titratable group a pKa shifted from its model value by its
surroundings; ASP, GLU, HIS, LYS and CYS take the state that pKa gives at the pH. If PROPKA
fails, or the receptor is too large to run it on, the model pKa values stand in (as in
PDBFixer and PDB2PQR without PROPKA) and the report says so. PROPKA only decides whether a
histidine is charged (HIP): a neutral one gets its hydrogen on the ring nitrogen that can
donate a hydrogen bond (HID or HIE), judged from the acceptors and donors around ND1 and NE2,
and a nitrogen next to a metal stays unprotonated (so a histidine bound to a metal is never
HIP). The chosen state is written as the residue name (HID, GLH, LYN …) that Meeko's
templates know; Meeko has no template for a neutral tyrosine, arginine or terminus, so those
are only reported. Residues that already carry hydrogens keep the states the input gave them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import gemmi
import numpy as np
from scipy.spatial import cKDTree

from dockyard.chem.receptor.clean import HeteroGroup
from dockyard.chem.receptor.pka import VERSION, propka_pkas
from dockyard.chem.residues import key

PKA = {"ASP": 3.9, "GLU": 4.2, "HIS": 6.0, "CYS": 8.3, "LYS": 10.5}
"""Model pKa values of the side chains whose state depends on pH: the default state at a pH,
and the stand-in when PROPKA gives no value."""
NAMES = {
    "ASP": ("ASH", "ASP"),
    "GLU": ("GLH", "GLU"),
    "LYS": ("LYS", "LYN"),
    "CYS": ("CYS", "CYM"),
}
"""Residue names of the protonated and the deprotonated state (a neutral HIS is HID or HIE)."""
FIXED = {"TYR": True, "ARG": True, "N+": True, "C-": False}
"""Groups Meeko's templates only know in one state: protonated (True) or not."""
PROPKA_MAX_RESIDUES = 1000
"""PROPKA's time grows with the square of the size (about 1 s of CPU for 300 residues, 20 s
for 1400); a larger receptor is cut down to the box's surroundings first when a box is given,
and takes the model pKa values when not."""

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


@dataclass
class ResidueStates:
    summary: dict[str, object]
    """The report's "protonation" entry."""
    warnings: list[str] = field(default_factory=list)


def assign_residue_states(
    structure: gemmi.Structure, ph: float | None, kept: list[HeteroGroup]
) -> ResidueStates:
    """Rename residues to their protonation variants at ``ph`` (in place), from PROPKA."""
    model = structure[0]
    if ph is None:
        return ResidueStates({"ph": None, "note": "protonation states kept as in the input"})
    polar = _polar_atoms(model)
    metals = np.array(
        [atom[2:] for group in kept if group.kind == "ion" for atom in group.atoms]
    ).reshape(-1, 3)
    disulfides = _disulfide_cysteines(model)
    titratable = [
        (chain, residue)
        for chain in model
        for residue in chain
        if (residue.name in PKA or residue.name in FIXED)
        and not any(atom.is_hydrogen() for atom in residue)
    ]
    pkas, problem, source = {}, "", "the input (every titratable residue carries hydrogens)"
    if titratable:
        pkas, problem = _propka(structure)
        source = "model pKa values" if problem else VERSION
    warnings = []
    if problem:
        model_values = ", ".join(f"{name} {pka:.1f}" for name, pka in PKA.items())
        warnings.append(f"{problem}; residue states are from model pKa values ({model_values}).")
    states: Counter[str] = Counter()
    changed, shifted, missing = [], [], []
    for chain, residue in titratable:
        name, residue_key = residue.name, key(chain, residue)
        if name == "CYS" and residue_key in disulfides:
            continue
        pka = pkas.get((name, residue_key))
        if pka is None and name in PKA and pkas:
            missing.append(f"{name} {residue_key}")
        if pka is None and name in FIXED:
            continue
        protonated = (PKA[name] if pka is None else pka) > ph
        new, kept_as = _variant(residue, protonated, polar, metals)
        default = FIXED[name] if name in FIXED else PKA[name] > ph
        if pka is not None and protonated != default:
            note = f", kept {kept_as}" if kept_as else ""
            shifted.append(f"{_state(name, residue_key, pka, ph)}{note}")
        if name == "HIS":
            states[new] += 1
        if new != name:
            residue.name = new
            if name != "HIS":
                changed.append(f"{name} {residue_key} as {new}")
    for (terminus, residue_key), pka in pkas.items():
        if terminus in ("N+", "C-") and (pka > ph) != FIXED[terminus]:
            shifted.append(
                f"{_state(terminus, residue_key, pka, ph)}, kept {_word(FIXED[terminus])}"
            )
    if missing:
        warnings.append(
            f"PROPKA gave no pKa for {', '.join(missing[:10])}"
            f"{' and more' if len(missing) > 10 else ''}; their states are from model pKa values."
        )
    summary: dict[str, object] = {
        "ph": ph,
        "pka_from": source,
        "histidines": dict(sorted(states.items())),
    }
    if changed:
        summary["changed"] = changed
    if shifted:
        summary["differs_from_model_pka"] = shifted
    return ResidueStates(summary, warnings)


def _propka(structure: gemmi.Structure) -> tuple[dict[tuple[str, str], float], str]:
    """PROPKA's pKa values, or why there are none."""
    residues = sum(len(chain) for chain in structure[0])
    if residues > PROPKA_MAX_RESIDUES:
        return {}, (
            f"PROPKA was not run: the receptor has {residues} residues, more than "
            f"{PROPKA_MAX_RESIDUES} (a box lets it be cut down to the box's surroundings)"
        )
    try:
        pkas = propka_pkas(structure)
    except Exception as error:  # PROPKA raises whatever its reading of the structure hits
        lines = str(error).strip().splitlines()
        return {}, f"PROPKA failed ({type(error).__name__}{': ' + lines[0] if lines else ''})"
    return pkas, "" if pkas else "PROPKA gave no pKa values"


def _variant(
    residue: gemmi.Residue, protonated: bool, polar, metals: np.ndarray
) -> tuple[str, str]:
    """The residue name for the state, and the state kept instead when it cannot be had."""
    name = residue.name
    if name in FIXED:
        return name, "" if protonated == FIXED[name] else _word(FIXED[name])
    if name != "HIS":
        return NAMES[name][0 if protonated else 1], ""
    if protonated and not _metal_bound(residue, metals):
        return "HIP", ""
    return _neutral_histidine(
        residue, polar, metals
    ), "neutral (it binds a metal)" if protonated else ""


def _state(group: str, residue_key: str, pka: float, ph: float) -> str:
    name = {"N+": "N-terminus", "C-": "C-terminus"}.get(group, group)
    return f"{name} {residue_key} {_word(pka > ph)} (pKa {pka:.1f} at pH {ph:g})"


def _word(protonated: bool) -> str:
    return "protonated" if protonated else "deprotonated"


def _metal_bound(residue: gemmi.Residue, metals: np.ndarray) -> bool:
    """Whether a ring nitrogen of this histidine coordinates a metal."""
    return bool(len(metals)) and any(
        (np.linalg.norm(metals - np.array(atom.pos.tolist()), axis=1) < METAL_BOND).any()
        for atom in residue
        if atom.name in ("ND1", "NE2")
    )


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
