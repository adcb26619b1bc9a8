"""A screen's chunk at work: dock its pending ligands and have the store write each result.

A chunk computes the grid maps once and docks its ligands one after the other, the next ones
prepared ahead in a helper process. Each result is written by ``store.screens``, fenced by
the chunk's claim, so a chunk re-run after a crash docks only what is left. A ligand's failure
is recorded, not raised.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from dockyard.chem import DockingOptions, DockingSession, PreparedReceptor, search_threads
from dockyard.chem.ligand.properties import ligand_efficiency
from dockyard.errors import DockyardError
from dockyard.jobs.evidence import EvidenceInputs, check_poses, evidence_inputs
from dockyard.jobs.files import RECEPTOR_PDBQT
from dockyard.jobs.models import Job, LigandStatus, ScreenLigand
from dockyard.jobs.params import ChunkParams, ScreenParams
from dockyard.jobs.prepare_ahead import PreparedEntry, prepared_ahead
from dockyard.jobs.screen_store import LigandOutcome
from dockyard.jobs.store import Claim, Store, StoredFile

PROGRESS_INTERVAL = 1.0

EVIDENCE_TOP = 100
"""A ligand whose score ranks among the screen's best this many when it is docked gets its
top pose checked (plausibility, RMSD to the reference ligand). Scores only get better, so
every ligand of the final best this many is checked; in a library in random order about
``EVIDENCE_TOP * (1 + ln(total / EVIDENCE_TOP))`` ligands are."""


def run_screen_chunk(
    store: Store, job: Job, report: Any, cpu: int
) -> tuple[dict[str, Any], list[StoredFile]]:
    """Dock the chunk's ligands that are still pending, with maps computed once."""
    claim = Claim(job.id, job.attempt, job.time_limit)
    screen = store.get_job(job.parent_id)
    params = ScreenParams.from_job(screen)
    store.screens.mark_running(screen.id)
    report("computing maps", 0.0)
    options = params.docking_options()
    receptor = PreparedReceptor(store.read_file(screen.id, RECEPTOR_PDBQT).content.decode())
    threads = search_threads(options, cpu or 1)
    docker = DockingSession(receptor, params.search_box(), options.scoring, threads, options.seed)
    todo = store.screens.pending_ligands(screen.id, ChunkParams.from_job(job))
    inputs = evidence_inputs(store, screen.id)
    counts = {"docked": 0, "failed": 0, "duplicates": 0}
    last_report = 0.0
    for number, (ligand, prepared) in enumerate(prepared_ahead(todo, params.ph)):
        if time.monotonic() - last_report > PROGRESS_INTERVAL:
            report(f"docking ligand {number + 1} of {len(todo)}", number / max(1, len(todo)))
            store.screens.touch(screen.id)
            last_report = time.monotonic()
        outcome = dock_ligand(store, screen.id, params, ligand, prepared, docker, options)
        if _among_the_best(store, screen.id, outcome):
            add_top_pose_evidence(inputs, outcome)
        store.screens.record_ligand(claim, screen.id, ligand.index, outcome)
        counts[outcome.counter] += 1
    store.screens.touch(screen.id)
    return {"ligands": len(todo), **counts}, []


def dock_ligand(
    store: Store,
    screen_id: int,
    params: ScreenParams,
    ligand: ScreenLigand,
    prepared: PreparedEntry | str,
    docker: DockingSession,
    options: DockingOptions,
) -> LigandOutcome:
    """Dock one prepared library entry; any failure is this ligand's alone."""
    if isinstance(prepared, str):
        return _failed(prepared)
    described = prepared.described
    first = store.screens.first_with_smiles(screen_id, described["canonical_smiles"], ligand.index)
    if first is not None and params.skip_duplicates:
        return LigandOutcome(
            {**described, "status": LigandStatus.DUPLICATE, "duplicate_of": first,
             "error": f"same molecule as ligand {first + 1}; not docked again"},
            "duplicates",
        )  # fmt: skip
    try:
        result = docker.dock(prepared.ligand, options)
    except DockyardError as error:
        return _failed(error.message, described)
    return LigandOutcome(
        {
            **described,
            "status": LigandStatus.COMPLETED,
            "duplicate_of": first,
            "score": result.best_score,
            "ligand_efficiency": ligand_efficiency(result.best_score, described["heavy_atoms"]),
            "num_poses": len(result.poses),
            "poses_sdf": result.poses_sdf,
        },
        "docked",
    )


def _among_the_best(store: Store, screen_id: int, outcome: LigandOutcome) -> bool:
    score = outcome.values.get("score")
    if score is None or outcome.values["status"] != LigandStatus.COMPLETED:
        return False
    threshold = store.screens.kth_best_score(screen_id, EVIDENCE_TOP)
    return threshold is None or score <= threshold


def add_top_pose_evidence(inputs: EvidenceInputs, outcome: LigandOutcome) -> None:
    """The top pose's plausibility and RMSD to the reference, into the ligand's result."""
    fields, _warnings, annotated = check_poses(inputs, outcome.values["poses_sdf"], first_only=True)
    if fields and fields[0]:
        plausibility = fields[0].get("plausibility")
        outcome.values |= {
            "evidence": fields[0],
            "plausible": None if plausibility is None else plausibility["valid"],
            "poses_sdf": annotated,
        }


def _failed(message: str, described: Mapping[str, Any] | None = None) -> LigandOutcome:
    return LigandOutcome(
        {**(described or {}), "status": LigandStatus.FAILED, "error": message[:2000]}, "failed"
    )
