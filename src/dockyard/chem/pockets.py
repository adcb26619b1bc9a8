"""Binding pockets found with pyKVFinder, each with a docking box a user can pick.

pyKVFinder fills the space between a small probe (1.4 Å, a water) and a large one (4 Å)
rolled over the protein's heavy atoms; what the small probe reaches and the large one does
not is a cavity. Cavities under 100 Å³ are too small for a drug-like ligand and are dropped.
Each pocket gets a score that favours large and deep (buried) cavities, the two properties
that best separate ligand-binding pockets from surface grooves:

    score = volume (Å³) x mean depth (Å) / 1000
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import tempfile
from dataclasses import dataclass

import numpy as np

from dockyard.chem.core.box import MAX_BOX_SIDE, Box

STEP = 0.6
"""Å between grid points (pyKVFinder's default)."""
PROBE_IN = 1.4
PROBE_OUT = 4.0
MIN_VOLUME = 100.0
"""Å³: smaller cavities cannot hold a drug-like ligand."""
POCKET_PADDING = 4.0
"""Å added around a pocket's grid points for its box."""
MIN_POCKET_SIDE = 12.0
MAX_POCKETS = 10


@dataclass
class Pocket:
    rank: int
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    volume: float
    depth: float
    score: float
    residues: list[str]

    @property
    def box(self) -> Box:
        return Box(center=self.center, size=self.size)

    def to_dict(self) -> dict[str, object]:
        return {
            "rank": self.rank,
            "center": [round(v, 3) for v in self.center],
            "size": [round(v, 3) for v in self.size],
            "volume": round(self.volume, 1),
            "depth": round(self.depth, 2),
            "score": round(self.score, 2),
            "residues": self.residues,
        }


def find_pockets(receptor_pdb: str, limit: int = MAX_POCKETS) -> list[Pocket]:
    """The receptor's pockets (PDB text, hydrogens ignored), best score first."""
    return copy.deepcopy(_find_pockets(receptor_pdb)[:limit])


@functools.lru_cache(maxsize=4)
def _find_pockets(receptor_pdb: str) -> list[Pocket]:
    import pyKVFinder

    atomic = _heavy_atoms(receptor_pdb, pyKVFinder)
    if not len(atomic):
        return []
    logging.disable(logging.WARNING)  # pyKVFinder logs a line per unknown atom name
    try:
        vertices = pyKVFinder.get_vertices(atomic, probe_out=PROBE_OUT, step=STEP)
        count, cavities = pyKVFinder.detect(
            atomic,
            vertices,
            step=STEP,
            probe_in=PROBE_IN,
            probe_out=PROBE_OUT,
            volume_cutoff=MIN_VOLUME,
            nthreads=1,
        )
        if not count:
            return []
        _surface, volumes, _area = pyKVFinder.spatial(cavities, step=STEP, nthreads=1)
        _depths, _max_depth, mean_depth = pyKVFinder.depth(cavities, step=STEP, nthreads=1)
        lining = pyKVFinder.constitutional(
            cavities, atomic, vertices, step=STEP, probe_in=PROBE_IN, nthreads=1
        )
    finally:
        logging.disable(logging.NOTSET)
    origin = np.asarray(vertices[0], dtype=float)
    found = []
    for index, tag in enumerate(sorted(volumes), start=2):  # grid value 2 is cavity "KAA"
        points = origin + np.argwhere(cavities == index) * STEP
        if not len(points):
            continue
        low, high = points.min(axis=0), points.max(axis=0)
        size = np.clip(high - low + 2 * POCKET_PADDING, MIN_POCKET_SIDE, MAX_BOX_SIDE)
        volume = float(volumes[tag])
        depth = float(mean_depth.get(tag, 0.0))
        residues = [f"{chain}:{name}:{number}" for number, chain, name in lining.get(tag, [])]
        found.append(
            Pocket(
                rank=0,
                center=tuple(float(v) for v in (low + high) / 2),
                size=tuple(float(v) for v in size),
                volume=volume,
                depth=depth,
                score=volume * depth / 1000,
                residues=residues,
            )
        )
    found.sort(key=lambda pocket: -pocket.score)
    for rank, pocket in enumerate(found, start=1):
        pocket.rank = rank
    return found


def _heavy_atoms(receptor_pdb: str, pyKVFinder) -> np.ndarray:
    lines = [
        line
        for line in receptor_pdb.splitlines()
        if line.startswith(("ATOM", "HETATM")) and line[76:78].strip().upper() not in ("H", "D")
    ]
    if not lines:
        return np.empty((0, 8))
    handle, path = tempfile.mkstemp(suffix=".pdb", prefix="dockyard-pockets-")
    try:
        with os.fdopen(handle, "w") as out:
            out.write("\n".join(lines) + "\nEND\n")
        logging.disable(logging.WARNING)
        try:
            return pyKVFinder.read_pdb(path)
        finally:
            logging.disable(logging.NOTSET)
    finally:
        os.unlink(path)
