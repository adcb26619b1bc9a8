"""``run_job``: the one entry point every runner calls to execute a claimed job.

It reads the job's inputs from the store, runs the science layer, and writes progress and
the outcome back through fenced updates. A job that was cancelled meanwhile stops at its next
progress report; the runner kills the process anyway if it is inside Vina.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from dockyard.chem import Box, DockingOptions, dock, prepare_receptor, versions
from dockyard.errors import DockyardError
from dockyard.jobs.models import Job
from dockyard.jobs.screening import run_screen_chunk, settle_screens
from dockyard.jobs.store import Claim, ClaimLost, Store, StoredFile

log = logging.getLogger(__name__)

Report = Callable[[str, float], None]


def run_job(store: Store, claim: Claim, *, cpu: int = 0) -> None:
    job = store.get_job(claim.job_id)
    try:
        _execute(store, job, claim, cpu)
    finally:
        if job.parent_id is not None:
            settle_screens(store, [job.parent_id])


def _execute(store: Store, job: Job, claim: Claim, cpu: int) -> None:
    provenance = {**versions(), "seed": job.params.get("seed"), "attempt": claim.attempt}

    def report(stage: str, progress: float) -> None:
        if not store.set_progress(claim, stage, progress):
            raise ClaimLost(stage)

    try:
        handler = HANDLERS[job.kind]
        results, files = handler(store, job, report, cpu)
    except ClaimLost:
        log.info("job %s attempt %s is no longer ours; stopping", claim.job_id, claim.attempt)
        return
    except DockyardError as error:
        store.fail(claim, error.message, detail=traceback.format_exc(), provenance=provenance)
        return
    except Exception as error:
        store.fail(
            claim,
            f"Unexpected error: {type(error).__name__}: {error}",
            detail=traceback.format_exc(),
            provenance=provenance,
        )
        return
    store.complete(claim, results=results, provenance=provenance, files=files)


def _text(store: Store, job: Job, name: str) -> str:
    return store.read_file(job.id, name).content.decode()


def run_docking(
    store: Store, job: Job, report: Report, cpu: int
) -> tuple[dict[str, Any], list[StoredFile]]:
    params = job.params
    box = Box.from_fields(params["box"])
    report("preparing receptor", 0.02)
    receptor_format = params["receptor"]["format"]
    receptor_text = _text(store, job, f"receptor.{receptor_format}")
    receptor = prepare_receptor(receptor_text, receptor_format, box=box)
    ligand_pdbqt = _text(store, job, "ligand.pdbqt")
    options = DockingOptions(
        scoring=params["scoring"],
        exhaustiveness=params["exhaustiveness"],
        num_poses=params["num_poses"],
        energy_range=params["energy_range"],
        seed=params["seed"],
        cpu=cpu,
    )
    result = dock(receptor, ligand_pdbqt, box, options, on_stage=report)
    results = {**result.to_dict(), "receptor_report": receptor.report}
    files = [
        StoredFile("receptor.pdbqt", receptor.pdbqt.encode(), "chemical/x-pdbqt"),
        StoredFile("poses.pdbqt", result.poses_pdbqt.encode(), "chemical/x-pdbqt"),
        StoredFile("poses.sdf", result.poses_sdf.encode(), "chemical/x-mdl-sdfile"),
    ]
    return results, files


HANDLERS: dict[str, Callable[..., tuple[dict[str, Any], list[StoredFile]]]] = {
    "dock": run_docking,
    "screen_chunk": run_screen_chunk,
}
