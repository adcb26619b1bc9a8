"""Docking with AutoDock Vina: one receptor and box, one or many ligands.

Grid maps cost as much as a small docking, and reusing them gives identical scores, so
:class:`DockingSession` computes them once and docks ligand after ligand; :func:`dock` is the
one-ligand case of the same code path. A ligand with a ring that puckers is docked from a few
ring conformations (:mod:`~dockyard.chem.ligand.conformers`) with the same maps, and the
best-scoring docking kept: Vina never changes a ring's shape. With ``effort="auto"`` each
starting conformation is searched in rounds until its best pose repeats
(:mod:`~dockyard.chem.adaptive`); a round after the first needs a Vina of its own seed, whose
maps are computed again, for the ligand's atom types only (set first: 0.5 CPU-s against 1.0
for every type, 20 Å box, identical scores). Loading maps written once by ``write_maps`` is
cheaper still (0.2 s) but scores the same pose about 0.3 kcal/mol higher than computed maps
do (Vina 1.2.7), so poses pooled from both would not be comparable. ``Vina.dock`` holds the GIL for
its whole run: callers that need heartbeats or cancellation must run this in a child process.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vina import Vina

from dockyard.chem.adaptive import AutoEffort, Effort, RoundCallback, search_until_converged
from dockyard.chem.core.box import Box
from dockyard.chem.core.options import DockingOptions, random_seed
from dockyard.chem.core.progress import (
    DOCKING_PROGRESS,
    DOCKING_STAGE,
    ROUND_LINE,
    START_LINE,
    StageCallback,
)
from dockyard.chem.ligand.conformers import ring_conformers
from dockyard.chem.ligand.prepare import PreparedLigand, ligand_from_file
from dockyard.chem.poses import Pose, poses_to_sdf, read_poses
from dockyard.chem.receptor.prepare import PreparedReceptor, box_out_of_reach, prepare_receptor
from dockyard.errors import DockingError, InputError

MIN_RMSD = 1.0
"""Å: Vina's own default for how different two kept poses must be."""
POOL_POSES = 20
"""Poses asked of each round of an adaptive search (Vina's own most for one search)."""
POOL_RANGE = 8.0
"""kcal/mol above a round's best that its poses are pooled (the output's range is narrower)."""


@dataclass
class DockingResult:
    poses: list[Pose]
    poses_pdbqt: str
    poses_sdf: str
    seed: int
    """The seed actually used: docking again with it gives the same poses."""
    scoring: str = "vina"
    warnings: list[str] = field(default_factory=list)
    ring_conformers: int = 1
    """How many starting ring conformations were docked (the poses are the best one's)."""
    effort: Effort = field(default_factory=Effort)
    """Rounds and chains the search took, and with ``effort="auto"`` whether it converged."""

    @property
    def best_score(self) -> float:
        return self.poses[0].affinity

    def to_dict(self) -> dict[str, object]:
        return {
            "best_score": self.best_score,
            "num_poses": len(self.poses),
            "seed": self.seed,
            "scoring": self.scoring,
            "ring_conformers_docked": self.ring_conformers,
            "search": self.effort.to_dict(),
            "poses": [pose.to_dict() for pose in self.poses],
            "warnings": list(self.warnings),
        }


class DockingSession:
    """Vina with grid maps for one receptor, box and scoring function, reused per ligand.

    The maps are computed on the first :meth:`dock`. They belong to one random seed too
    (Vina fixes it when created): ligands docked with ``options.seed`` left empty share the
    session's seed; a different explicit seed recomputes the maps.
    """

    def __init__(
        self,
        receptor_pdbqt: PreparedReceptor | str,
        box: Box,
        scoring: str = "vina",
        cpu: int = 0,
        seed: int | None = None,
        progress_bar: bool = False,
        auto: AutoEffort = AutoEffort(),
    ):
        """``progress_bar``: let Vina draw its progress bar (and a few notes) on file
        descriptor 1, for a process that watches a docking it cannot interrupt (see
        :func:`~dockyard.chem.core.progress.bar_progress`). ``auto``: when a docking with
        ``effort="auto"`` stops."""
        checked = DockingOptions(scoring=scoring, cpu=cpu, seed=seed)
        if isinstance(receptor_pdbqt, PreparedReceptor):
            self.receptor_pdbqt = receptor_pdbqt.pdbqt
        else:
            self.receptor_pdbqt = prepare_receptor(receptor_pdbqt, "pdbqt").pdbqt
        problem = box_out_of_reach(box, self.receptor_pdbqt)
        if problem:
            raise InputError(problem, field="center_x")
        self.box = box
        self.scoring = checked.scoring
        self.cpu = checked.cpu
        self.seed = checked.seed or random_seed()
        self.progress_bar = progress_bar
        self.auto = auto
        self._vina: Vina | None = None

    def dock(
        self,
        ligand: PreparedLigand | str,
        options: DockingOptions,
        on_stage: StageCallback | None = None,
    ) -> DockingResult:
        """Dock one ligand (a PreparedLigand or PDBQT text); ``options.cpu`` is not used."""
        stage = on_stage or _ignore_stage
        if options.scoring != self.scoring:
            raise InputError(
                f"This docking session's maps are for scoring {self.scoring!r}, not "
                f"{options.scoring!r}; start another DockingSession for that scoring function.",
                field="scoring",
            )
        if isinstance(ligand, str):
            ligand = ligand_from_file(ligand, "pdbqt")
        vina = self._vina_with_seed(options.seed or self.seed, stage)
        starts = ring_conformers(ligand, options.ring_conformers)
        runs = []
        for number, start in enumerate(starts):
            stage(DOCKING_STAGE, _fraction(number / len(starts)))
            if self.progress_bar and len(starts) > 1:
                line = START_LINE.format(number=number + 1, total=len(starts))
                os.write(1, f"\n{line}\n".encode())
            if options.effort == "auto":
                on_round = self._round_reporter(stage, number, len(starts))
                runs.append(self._dock_auto(vina, ligand.name, start, options, on_round))
            else:
                runs.append(self._dock_fixed(vina, ligand.name, start, options))
        best = min(range(len(runs)), key=lambda index: runs[index][0][0].affinity)
        poses, poses_pdbqt, _ = runs[best]
        effort = runs[0][2]
        for run in runs[1:]:
            effort = effort.add(run[2])
        stage("writing poses", DOCKING_PROGRESS[1])
        extra = {"scoring_function": self.scoring, "seed": self.seed}
        sdf, bond_orders = poses_to_sdf(poses_pdbqt, poses, ligand.name, extra)
        warnings = list(ligand.notes) + self.box.warnings()
        if len(starts) > 1:
            warnings.append(
                f"Docked from {len(starts)} starting ring conformations (Vina keeps rings "
                f"rigid); the poses are those of the best-scoring one (number {best + 1})."
            )
        if poses[0].affinity > 0:
            warnings.append(
                "The best pose scores above 0 kcal/mol: the ligand probably does not fit in "
                "the box; make the box larger."
            )
        if not bond_orders and ligand.smiles:
            warnings.append(
                "Poses in the SDF have single bonds only: Meeko could not rebuild them."
            )
        stage("done", 1.0)
        return DockingResult(
            poses=poses,
            poses_pdbqt=poses_pdbqt,
            poses_sdf=sdf,
            seed=self.seed,
            scoring=self.scoring,
            warnings=warnings,
            ring_conformers=len(starts),
            effort=effort,
        )

    def _dock_fixed(
        self, vina: Vina, name: str, ligand_pdbqt: str, options: DockingOptions
    ) -> tuple[list[Pose], str, Effort]:
        """Vina's poses (best first) and their PDBQT for one starting conformation."""
        energies, poses_pdbqt = _search(
            vina, name, ligand_pdbqt, options.exhaustiveness, options.num_poses,
            options.energy_range,
        )  # fmt: skip
        return (
            _checked(energies, poses_pdbqt, name),
            poses_pdbqt,
            Effort("fixed", 1, options.exhaustiveness),
        )

    def _dock_auto(
        self,
        vina: Vina,
        name: str,
        ligand_pdbqt: str,
        options: DockingOptions,
        on_round: RoundCallback,
    ) -> tuple[list[Pose], str, Effort]:
        """Rounds of a few chains for one starting conformation, the first on ``vina``, each
        later one on a Vina of the round's seed."""

        def search(seed: int, exhaustiveness: int) -> tuple[Sequence[Sequence[float]], str]:
            engine = vina if seed == self.seed else self._new_vina(seed, (name, ligand_pdbqt))
            return _search(engine, name, ligand_pdbqt, exhaustiveness, POOL_POSES, POOL_RANGE)

        pool, effort = search_until_converged(search, self.seed, self.auto, on_round)
        energies, poses_pdbqt = pool.output(options.num_poses, options.energy_range)
        return _checked(energies, poses_pdbqt, name), poses_pdbqt, effort

    def _round_reporter(self, stage: StageCallback, start: int, starts: int) -> RoundCallback:
        """Reports each round of starting conformation ``start`` (of ``starts``) as its share
        of the progress, and marks it in Vina's output for a process reading the bars."""

        def on_round(number: int, most: int) -> None:
            stage(DOCKING_STAGE, _fraction((start + (number - 1) / most) / starts))
            if self.progress_bar:
                os.write(1, f"\n{ROUND_LINE.format(number=number, total=most)}\n".encode())

        return on_round

    def _vina_with_seed(self, seed: int, stage: StageCallback) -> Vina:
        if self._vina is not None and seed == self.seed:
            return self._vina
        stage("computing maps", 0.1)
        self._vina, self.seed = self._new_vina(seed), seed
        return self._vina

    def _new_vina(self, seed: int, ligand: tuple[str, str] | None = None) -> Vina:
        """A Vina of this seed with the session's receptor and maps computed for its box:
        for every atom type, or with ``ligand`` (name, PDBQT) set first for its types only."""
        verbosity = 1 if self.progress_bar else 0
        vina = Vina(sf_name=self.scoring, cpu=self.cpu, seed=seed, verbosity=verbosity)
        with tempfile.TemporaryDirectory(prefix="dockyard-") as folder:
            path = Path(folder) / "receptor.pdbqt"
            path.write_text(self.receptor_pdbqt)
            try:
                vina.set_receptor(rigid_pdbqt_filename=str(path))
            except Exception as error:
                raise DockingError(f"Vina could not read the receptor: {error}") from error
        if ligand is not None:
            try:
                vina.set_ligand_from_string(ligand[1])
            except Exception as error:
                raise DockingError(f"Vina failed to dock {ligand[0]}: {error}") from error
        try:
            vina.compute_vina_maps(center=list(self.box.center), box_size=list(self.box.size))
        except Exception as error:
            raise DockingError(f"Vina could not compute grid maps for the box: {error}") from error
        return vina


def search_threads(options: DockingOptions, cpu: int) -> int:
    """Threads worth giving Vina: no more than the chains it runs at once."""
    chains = AutoEffort().round_exhaustiveness if options.effort == "auto" else 0
    return min(cpu or os.cpu_count() or 1, chains or options.exhaustiveness)


def dock(
    receptor: PreparedReceptor | str,
    ligand: PreparedLigand | str,
    box: Box,
    options: DockingOptions = DockingOptions(),
    on_stage: StageCallback | None = None,
    progress_bar: bool = False,
) -> DockingResult:
    """Dock one ligand; strings are PDBQT text. Uses no more threads than Vina can use."""
    threads = search_threads(options, options.cpu)
    session = DockingSession(
        receptor, box, options.scoring, threads, options.seed, progress_bar=progress_bar
    )
    return session.dock(ligand, options, on_stage)


def _search(
    vina: Vina, name: str, ligand_pdbqt: str, exhaustiveness: int, n_poses: int, energy_range: float
) -> tuple[Sequence[Sequence[float]], str]:
    """One Vina search: its energy rows and poses PDBQT."""
    try:
        vina.set_ligand_from_string(ligand_pdbqt)
        vina.dock(exhaustiveness=exhaustiveness, n_poses=n_poses, min_rmsd=MIN_RMSD)
        energies = vina.energies(n_poses=n_poses, energy_range=energy_range)
        return energies, vina.poses(n_poses=n_poses, energy_range=energy_range)
    except Exception as error:
        raise DockingError(f"Vina failed to dock {name}: {error}") from error


def _checked(energies: Sequence[Sequence[float]], poses_pdbqt: str, name: str) -> list[Pose]:
    poses = read_poses(energies, poses_pdbqt)
    if not poses:
        raise DockingError(f"Vina returned no poses for {name}.")
    return poses


def _fraction(done: float) -> float:
    """The progress when ``done`` (0 to 1) of the search is done."""
    return DOCKING_PROGRESS[0] + (DOCKING_PROGRESS[1] - DOCKING_PROGRESS[0]) * done


def _ignore_stage(message: str, progress: float) -> None:
    """The on_stage callback when the caller gives none."""
