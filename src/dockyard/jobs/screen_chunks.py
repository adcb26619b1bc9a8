"""A screen's chunk at work: dock its pending ligands and write each result, fenced.

A chunk computes the grid maps once and docks its ligands one after the other, the next ones
prepared ahead in a helper process. Each ligand result is written only while the ligand is
still ``pending`` and the chunk still holds its claim, so a chunk re-run after a crash docks
only what is left, and no ligand is counted twice. A ligand's failure is recorded, not raised.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update

from dockyard.chem import Box, DockingOptions, DockingSession, PreparedReceptor
from dockyard.chem.core.options import DEFAULT_PH
from dockyard.chem.ligand.properties import ligand_efficiency
from dockyard.errors import DockyardError
from dockyard.jobs.models import Job, JobStatus, LigandStatus, Screen, ScreenLigand, utcnow
from dockyard.jobs.prepare_ahead import PreparedEntry, prepared_ahead
from dockyard.jobs.screening import mark_screen_running, touch_screen
from dockyard.jobs.store import Claim, ClaimLost, Store, StoredFile

PROGRESS_INTERVAL = 1.0


def run_screen_chunk(
    store: Store, job: Job, report: Any, cpu: int
) -> tuple[dict[str, Any], list[StoredFile]]:
    """Dock the chunk's ligands that are still pending, with maps computed once."""
    claim = Claim(job.id, job.attempt, job.time_limit)
    screen = store.get_job(job.parent_id)
    params = screen.params
    mark_screen_running(store, screen.id)
    report("computing maps", 0.0)
    options = DockingOptions.from_fields(params)
    receptor = PreparedReceptor(store.read_file(screen.id, "receptor.pdbqt").content.decode())
    threads = min(cpu or 1, options.exhaustiveness)
    docker = DockingSession(
        receptor, Box.from_fields(params["box"]), options.scoring, threads, options.seed
    )
    todo = pending_ligands(store, screen.id, job.params["start"], job.params["stop"])
    ph = params.get("preparation", {}).get("ph", DEFAULT_PH)
    counts = {"docked": 0, "failed": 0, "duplicates": 0}
    last_report = 0.0
    for number, (ligand, prepared) in enumerate(prepared_ahead(todo, ph)):
        if time.monotonic() - last_report > PROGRESS_INTERVAL:
            report(f"docking ligand {number + 1} of {len(todo)}", number / max(1, len(todo)))
            touch_screen(store, screen.id)
            last_report = time.monotonic()
        outcome = dock_ligand(store, screen, ligand, prepared, docker, options)
        if not record_ligand(store, claim, screen.id, ligand.index, outcome):
            raise ClaimLost(job.id)
        counts[outcome.counter] += 1
    touch_screen(store, screen.id)
    return {"ligands": len(todo), **counts}, []


@dataclass
class LigandOutcome:
    values: dict[str, Any]
    counter: str


def dock_ligand(
    store: Store,
    screen: Job,
    ligand: ScreenLigand,
    prepared: PreparedEntry | str,
    docker: DockingSession,
    options: DockingOptions,
) -> LigandOutcome:
    """Dock one prepared library entry; any failure is this ligand's alone."""
    if isinstance(prepared, str):
        return _failed(prepared)
    described = prepared.described
    first = first_with_smiles(store, screen.id, described["canonical_smiles"], ligand.index)
    if first is not None and screen.params.get("skip_duplicates", True):
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


def _failed(message: str, described: Mapping[str, Any] | None = None) -> LigandOutcome:
    return LigandOutcome(
        {**(described or {}), "status": LigandStatus.FAILED, "error": message[:2000]}, "failed"
    )


COUNTER_COLUMNS = {"docked": "completed", "failed": "failed", "duplicates": "duplicates"}


def record_ligand(
    store: Store, claim: Claim, screen_id: int, index: int, outcome: LigandOutcome
) -> bool:
    """Write one ligand's result, fenced by the chunk's claim; False if the claim is gone."""
    now = utcnow()
    with store.session() as session, session.begin():
        still_ours = session.execute(
            update(Job)
            .where(Job.id == claim.job_id, Job.status == JobStatus.RUNNING,
                   Job.attempt == claim.attempt)
            .values(updated_at=now)
        )  # fmt: skip
        if still_ours.rowcount != 1:
            return False
        written = session.execute(
            update(ScreenLigand)
            .where(
                ScreenLigand.screen_id == screen_id,
                ScreenLigand.index == index,
                ScreenLigand.status == LigandStatus.PENDING,
            )
            .values(**outcome.values, finished_at=now)
        )
        if written.rowcount == 1:
            column = getattr(Screen, COUNTER_COLUMNS[outcome.counter])
            values: dict[str, Any] = {column.key: column + 1}
            score = outcome.values.get("score")
            if score is not None:
                values["best_score"] = case(
                    (Screen.best_score.is_(None), score),
                    (Screen.best_score > score, score),
                    else_=Screen.best_score,
                )
            session.execute(update(Screen).where(Screen.job_id == screen_id).values(**values))
    return True


def pending_ligands(store: Store, screen_id: int, start: int, stop: int) -> list[ScreenLigand]:
    query = (
        select(ScreenLigand)
        .where(
            ScreenLigand.screen_id == screen_id,
            ScreenLigand.index >= start,
            ScreenLigand.index < stop,
            ScreenLigand.status == LigandStatus.PENDING,
        )
        .order_by(ScreenLigand.index)
    )
    with store.session() as session:
        return list(session.scalars(query))


def first_with_smiles(store: Store, screen_id: int, smiles: str, index: int) -> int | None:
    """The lowest-numbered other ligand of the screen already known to be this molecule."""
    query = select(func.min(ScreenLigand.index)).where(
        ScreenLigand.screen_id == screen_id,
        ScreenLigand.canonical_smiles == smiles,
        ScreenLigand.index < index,
    )
    with store.session() as session:
        return session.scalar(query)
