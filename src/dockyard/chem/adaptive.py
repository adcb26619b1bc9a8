"""Adaptive search effort: Vina's Monte Carlo search in rounds until its best pose repeats.

A fixed exhaustiveness gives every ligand the same number of chains, whether its best pose
was found by the first few or is never found. With ``effort="auto"`` the search runs in
rounds of a few chains, each with its own seed (Vina 1.2.7 seeds every ``dock()`` from the
object's seed, so a round on the same object would repeat the previous one's chains), pools
the poses of every round, and stops once a round's best pose is the pooled best again (closer
than :attr:`AutoEffort.rmsd` Å and :attr:`AutoEffort.energy` kcal/mol) in
:attr:`AutoEffort.confirmations` consecutive rounds, or at the ceiling. The pooled poses are
clustered as Vina clusters its own (a pose closer than ``cluster_rmsd`` to a better one is
dropped) and written back as Vina writes them, RMSD bounds from the best pose included.

This module knows nothing of Vina: :class:`~dockyard.chem.docking.DockingSession` hands it a
``search(seed, exhaustiveness)`` that docks one round with fresh maps for that seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from dockyard.chem.core.elements import DUMMY_TYPES
from dockyard.chem.core.options import MAX_SEED
from dockyard.chem.poses import split_models

Search = Callable[[int, int], tuple[Sequence[Sequence[float]], str]]
"""Dock one round: (seed, exhaustiveness) → Vina's energy rows and poses PDBQT."""
RoundCallback = Callable[[int, int], None]
"""Called with the round number (from 1) and the most rounds there can be, as a round starts."""

HYDROGEN_TYPES = frozenset({"H", "HD", "HS"})


@dataclass(frozen=True)
class AutoEffort:
    """When an adaptive search stops. The defaults are the ones ``bench/effort.py`` chose."""

    round_exhaustiveness: int = 2
    """Monte Carlo chains per round: two keep two cores busy, and an easy ligand is done in
    two rounds, half the chains of exhaustiveness 8 (rounds of 4 never stop before 8)."""
    max_rounds: int = 16
    """The ceiling, in rounds: 16 rounds of 2 chains is exhaustiveness 32."""
    rmsd: float = 2.0
    """Å (heavy atoms): a round's best pose closer than this to the pooled best is the same pose."""
    energy: float = 0.3
    """kcal/mol: ... and scores closer than this to it."""
    confirmations: int = 1
    """Consecutive rounds that must find the pooled best again."""
    cluster_rmsd: float = 1.0
    """Å: pooled poses closer than this to a better one are dropped (Vina's min_rmsd)."""

    @property
    def ceiling(self) -> int:
        """The most chains (exhaustiveness-equivalent) a ligand gets."""
        return self.round_exhaustiveness * self.max_rounds


@dataclass
class Effort:
    """How much searching a docking took, for its result and its job page."""

    mode: str = "fixed"
    rounds: int = 1
    exhaustiveness: int = 0
    """Chains run in all (every starting ring conformation and round)."""
    converged: bool | None = None
    """Auto only: whether every search stopped because its best pose repeated."""
    ceiling: int | None = None

    def add(self, other: Effort) -> Effort:
        """The effort of two searches of one ligand (two starting ring conformations)."""
        converged = None if self.converged is None else bool(self.converged and other.converged)
        return Effort(
            self.mode,
            self.rounds + other.rounds,
            self.exhaustiveness + other.exhaustiveness,
            converged,
            self.ceiling,
        )

    def to_dict(self) -> dict[str, object]:
        values: dict[str, object] = {
            "effort": self.mode,
            "rounds": self.rounds,
            "exhaustiveness_used": self.exhaustiveness,
        }
        if self.mode == "auto":
            values |= {"converged": self.converged, "ceiling": self.ceiling}
        return values


@dataclass
class PooledPose:
    energies: tuple[float, ...]
    atoms: list[str]
    """The model's lines other than Vina's result remark (which is rewritten on output)."""
    coordinates: np.ndarray = field(repr=False)
    """Heavy atoms, in the ligand's atom order."""
    types: tuple[str, ...] = field(repr=False)

    @property
    def energy(self) -> float:
        return self.energies[0]


def round_seeds(seed: int, count: int) -> list[int]:
    """The seed of each round: the job's own first (its maps are the session's), then a
    sequence drawn from it, so one seed always gives the same rounds."""
    generator = random.Random(seed)
    return [seed] + [generator.randint(1, MAX_SEED) for _ in range(count - 1)]


def rmsd(first: PooledPose, second: PooledPose) -> float:
    """Heavy-atom RMSD without symmetry (Vina's upper bound): the atom order is the ligand's."""
    return float(np.sqrt(((first.coordinates - second.coordinates) ** 2).sum(axis=1).mean()))


def rmsd_lower_bound(first: PooledPose, second: PooledPose) -> float:
    """Vina's symmetry-blind lower bound: each atom to the nearest atom of its type, both ways."""

    def one_way(a: PooledPose, b: PooledPose) -> float:
        total = 0.0
        for coordinate, kind in zip(a.coordinates, a.types, strict=True):
            same = b.coordinates[[other == kind for other in b.types]]
            total += float(((same - coordinate) ** 2).sum(axis=1).min()) if len(same) else 0.0
        return total / max(len(a.types), 1)

    return float(np.sqrt(max(one_way(first, second), one_way(second, first))))


class PosePool:
    """Every pose of every round, and the best of them."""

    def __init__(self, cluster_rmsd: float):
        self.cluster_rmsd = cluster_rmsd
        self.poses: list[PooledPose] = []

    @property
    def best(self) -> PooledPose:
        return self.poses[0]

    def add(self, energies: Sequence[Sequence[float]], poses_pdbqt: str) -> PooledPose:
        """Pool one round's poses; returns that round's best."""
        found = [
            _pooled(tuple(float(value) for value in row), model)
            for row, model in zip(energies, split_models(poses_pdbqt), strict=True)
        ]
        self.poses = sorted(self.poses + found, key=lambda pose: pose.energy)
        return min(found, key=lambda pose: pose.energy)

    def output(self, num_poses: int, energy_range: float) -> tuple[list[tuple[float, ...]], str]:
        """The clustered poses, best first, as Vina's energy rows and poses PDBQT."""
        kept: list[PooledPose] = []
        for pose in self.poses:
            if len(kept) == num_poses or pose.energy > self.best.energy + energy_range:
                break
            if all(rmsd(pose, other) >= self.cluster_rmsd for other in kept):
                kept.append(pose)
        blocks = []
        for number, pose in enumerate(kept, 1):
            lower, upper = rmsd_lower_bound(pose, kept[0]), rmsd(pose, kept[0])
            remark = f"REMARK VINA RESULT: {pose.energy:9.3f} {lower:10.3f} {upper:10.3f}"
            blocks.append("\n".join([f"MODEL {number}", remark, *pose.atoms, "ENDMDL"]))
        return [pose.energies for pose in kept], "\n".join(blocks) + "\n"


def search_until_converged(
    search: Search, seed: int, effort: AutoEffort, on_round: RoundCallback | None = None
) -> tuple[PosePool, Effort]:
    """Run rounds until the best pose repeats or the ceiling; the pooled poses and the effort."""
    pool = PosePool(effort.cluster_rmsd)
    agreeing, rounds = 0, 0
    for number, round_seed in enumerate(round_seeds(seed, effort.max_rounds), 1):
        if on_round:
            on_round(number, effort.max_rounds)
        previous = pool.best if pool.poses else None
        energies, poses_pdbqt = search(round_seed, effort.round_exhaustiveness)
        top = pool.add(energies, poses_pdbqt)
        rounds = number
        same = (
            previous is not None
            and rmsd(top, previous) < effort.rmsd
            and abs(top.energy - previous.energy) < effort.energy
        )
        agreeing = agreeing + 1 if same else 0
        if agreeing >= effort.confirmations:
            break
    converged = agreeing >= effort.confirmations
    used = Effort("auto", rounds, rounds * effort.round_exhaustiveness, converged, effort.ceiling)
    return pool, used


def _pooled(energies: tuple[float, ...], model: str) -> PooledPose:
    atoms, coordinates, types = [], [], []
    for line in model.splitlines():
        if line.startswith("REMARK VINA RESULT"):
            continue
        atoms.append(line)
        if line.startswith(("ATOM", "HETATM")):
            kind = line[77:79].strip()
            if kind not in HYDROGEN_TYPES and kind not in DUMMY_TYPES:
                coordinates.append((float(line[30:38]), float(line[38:46]), float(line[46:54])))
                types.append(kind)
    return PooledPose(energies, atoms, np.array(coordinates).reshape(-1, 3), tuple(types))
