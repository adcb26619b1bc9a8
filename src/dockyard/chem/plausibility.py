"""Is a pose physically plausible? The PoseBusters checks that need no true pose.

PoseBusters' ``dock`` configuration checks a docked ligand on its own (it loads and sanitizes;
bond lengths, bond angles and internal steric clashes within distance-geometry bounds; flat
aromatic rings and double bonds) and against the receptor (not too far from it, no atom closer
than van der Waals radii allow, little volume overlap; the same for cofactors, ions and waters
kept in the receptor). Its ``Internal energy`` check is left out: it embeds 50 conformers of
every ligand and would cost more than the other checks together.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem
from rdkit.rdBase import BlockLogs

CONFIG = "dock"
"""PoseBusters' configuration for docked poses: no check that compares with a true pose."""

LEFT_OUT = frozenset({"energy_ratio"})
"""PoseBusters modules not run (see the module docstring)."""

NEAR = 10.0
"""Å around the poses within which receptor atoms are checked: twice PoseBusters' largest
distance (5 Å, a ligand's farthest from the protein)."""


@dataclass(frozen=True)
class Plausibility:
    """The checks a pose failed, by PoseBusters' names (e.g. ``minimum_distance_to_protein``)."""

    failed: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, object]:
        return {"valid": self.valid, "failed": list(self.failed)}


def read_receptor(pdb_text: str, around: np.ndarray | None = None) -> Chem.Mol | None:
    """The prepared receptor as PoseBusters reads a PDB file (unsanitized, hydrogens kept);
    with ``around`` (n by 3), only its atoms within :data:`NEAR` Å of their bounding box, which
    holds every atom a check can see and costs a fraction of the whole protein."""
    lines = pdb_text.splitlines()
    if around is not None and len(around):
        low, high = around.min(axis=0) - NEAR, around.max(axis=0) + NEAR
        near = [
            line
            for line in lines
            if not line.startswith(("ATOM", "HETATM")) or _inside(line, low, high)
        ]
        if any(line.startswith(("ATOM", "HETATM")) for line in near):
            lines = near
    with BlockLogs():
        return Chem.MolFromPDBBlock(
            "\n".join(lines), sanitize=False, removeHs=False, proximityBonding=False
        )


def _inside(line: str, low: np.ndarray, high: np.ndarray) -> bool:
    try:
        xyz = np.array((float(line[30:38]), float(line[38:46]), float(line[46:54])))
    except ValueError:
        return True
    return bool(np.all(xyz >= low) and np.all(xyz <= high))


def check_poses(poses: Sequence[Chem.Mol], receptor: Chem.Mol) -> list[Plausibility]:
    """Each pose's failed checks; a pose that cannot be checked fails ``mol_pred_loaded``."""
    if not poses:
        return []
    with BlockLogs():
        table = _buster().bust([Chem.Mol(pose) for pose in poses], None, receptor)
    results = []
    for _key, row in table.iterrows():
        failed = tuple(str(name) for name, passed in row.items() if not bool(passed))
        results.append(Plausibility(failed))
    return results


@functools.cache
def _buster() -> Any:
    """One PoseBusters per process: reading its configuration costs more than a pose."""
    import posebusters
    import yaml

    path = Path(posebusters.__file__).parent / "config" / f"{CONFIG}.yml"
    config = yaml.safe_load(path.read_text())
    config["modules"] = [m for m in config["modules"] if m["function"] not in LEFT_OUT]
    return posebusters.PoseBusters(config=config, max_workers=0)  # no process pool of its own
