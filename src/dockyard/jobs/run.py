"""``run_job``: the one entry point every runner calls to execute a claimed job.

It reads the job's inputs from the store, runs the science layer, and writes progress and
the outcome back through fenced updates. A job that was cancelled meanwhile stops at its next
progress report; the runner kills the process anyway if it is inside Vina.

The database may go away under a running job (restarted, out of reach, its disk full). The
job's own process then waits rather than lose its work: it waits to read the job and its
files and to write the outcome (:func:`~dockyard.jobs.db.patiently`; fenced, so a job taken
away meanwhile ignores the late write), and skips progress reports it cannot write. An outage
met elsewhere (a screen chunk's ligand rows) raises :class:`~dockyard.errors.UnavailableError`
out of :func:`run_job`: the process ends and its runner queues the job again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from dockyard.chem import (
    Box,
    DockingOptions,
    DockingResult,
    DockingSession,
    PreparedLigand,
    PreparedReceptor,
    dock,
    prepare_receptor,
    versions,
)
from dockyard.errors import DockyardError, UnavailableError
from dockyard.jobs.db import patiently
from dockyard.jobs.evidence import check_poses, evidence_inputs
from dockyard.jobs.files import (
    PDBQT_MEDIA,
    POSES_PDBQT,
    POSES_SDF,
    RECEPTOR_PDBQT,
    RECEPTOR_UPLOAD,
    SDF_MEDIA,
    upload_name,
)
from dockyard.jobs.models import CHUNK_KIND, DOCK_KIND, VALIDATION_KIND, Job
from dockyard.jobs.params import DockParams
from dockyard.jobs.screen_chunks import run_screen_chunk
from dockyard.jobs.store import Claim, ClaimLost, Store, StoredFile
from dockyard.jobs.validation import run_validation

log = logging.getLogger(__name__)

Report = Callable[[str, float], None]


def run_job(store: Store, claim: Claim, *, cpu: int = 0) -> None:
    job = patiently(lambda: store.get_job(claim.job_id), f"job {claim.job_id}: reading it")
    try:
        _execute(store, job, claim, cpu)
    finally:
        if job.parent_id is not None:
            parent = job.parent_id
            patiently(lambda: store.screens.settle([parent]), f"screen {parent}: settling it")


def _execute(store: Store, job: Job, claim: Claim, cpu: int) -> None:
    seed = DockParams.from_job(job).seed if job.kind == DOCK_KIND else None
    provenance = {**versions(), "seed": seed, "attempt": claim.attempt}

    def report(stage: str, progress: float) -> None:
        try:
            written = store.set_progress(claim, stage, progress)
        except UnavailableError as error:
            log.warning("job %s: progress %r not written (%s)", claim.job_id, stage, error)
            return
        if not written:
            raise ClaimLost(stage)

    def fail(message: str) -> None:
        detail = traceback.format_exc()
        patiently(
            lambda: store.fail(claim, message, detail=detail, provenance=provenance),
            f"job {claim.job_id}: writing its failure",
        )

    try:
        handler = HANDLERS[job.kind]
        results, files = handler(store, job, report, cpu)
    except ClaimLost:
        log.info("job %s attempt %s is no longer ours; stopping", claim.job_id, claim.attempt)
        return
    except UnavailableError:
        raise
    except DockyardError as error:
        fail(error.message)
        return
    except Exception as error:
        fail(f"Unexpected error: {type(error).__name__}: {error}")
        return
    if "search" in results:
        provenance["search"] = results["search"]
    patiently(
        lambda: store.complete(claim, results=results, provenance=provenance, files=files),
        f"job {claim.job_id}: writing its result",
    )


def _text(store: Store, job: Job, name: str) -> str:
    stored = patiently(lambda: store.read_file(job.id, name), f"job {job.id}: reading {name}")
    return stored.content.decode()


def run_docking(
    store: Store, job: Job, report: Report, cpu: int
) -> tuple[dict[str, Any], list[StoredFile]]:
    params = DockParams.from_job(job)
    box = params.search_box()
    receptor, files = _receptor(store, job, params, box, report)
    options = params.docking_options(cpu)
    ligands = [PreparedLigand.from_pdbqt(_text(store, job, name)) for name in params.ligand.files]
    if len(ligands) == 1:
        result = dock(receptor, ligands[0], box, options, on_stage=report, progress_bar=True)
        extra: dict[str, Any] = {}
    else:
        smiles = params.ligand.stereoisomers
        result, extra = _dock_stereoisomers(receptor, ligands, box, options, report, smiles)
    report("checking poses", 0.99)
    results = {**result.to_dict(), **extra, "receptor_report": receptor.report}
    poses_sdf = _add_evidence(store, job, result.poses_sdf, results)
    files += [
        StoredFile(POSES_PDBQT, result.poses_pdbqt.encode(), PDBQT_MEDIA),
        StoredFile(POSES_SDF, poses_sdf.encode(), SDF_MEDIA),
    ]
    return results, files


def _add_evidence(store: Store, job: Job, poses_sdf: str, results: dict[str, Any]) -> str:
    """Each pose's RMSD to the reference ligand and plausibility, into ``results`` and the SDF."""
    inputs = patiently(lambda: evidence_inputs(store, job.id), f"job {job.id}: reading inputs")
    fields, warnings, annotated = check_poses(inputs, poses_sdf)
    for pose, evidence in zip(results["poses"], fields, strict=False):
        pose.update(evidence)
    results["warnings"] = [*results.get("warnings", []), *warnings]
    return annotated


def _receptor(
    store: Store, job: Job, params: DockParams, box: Box, report: Report
) -> tuple[PreparedReceptor, list[StoredFile]]:
    """The receptor prepared at submission, or (jobs stored before that) prepared now."""
    if params.receptor.prepared:
        pdbqt = _text(store, job, RECEPTOR_PDBQT)
        return PreparedReceptor(pdbqt=pdbqt, report=params.receptor_report), []
    report("preparing receptor", 0.02)
    receptor_format = params.receptor.format
    receptor_text = _text(store, job, upload_name(RECEPTOR_UPLOAD, receptor_format))
    receptor = prepare_receptor(receptor_text, receptor_format, box=box)
    return receptor, [StoredFile(RECEPTOR_PDBQT, receptor.pdbqt.encode(), PDBQT_MEDIA)]


def _dock_stereoisomers(
    receptor: PreparedReceptor,
    ligands: list[PreparedLigand],
    box: Box,
    options: DockingOptions,
    report: Report,
    smiles: tuple[str, ...],
) -> tuple[DockingResult, dict[str, Any]]:
    """Dock every stereoisomer with one set of grid maps; the best one's poses are kept."""
    docker = DockingSession(
        receptor, box, scoring=options.scoring, cpu=options.cpu, seed=options.seed
    )
    results = []
    for index, ligand in enumerate(ligands):

        def on_stage(stage: str, progress: float, index: int = index) -> None:
            name = f"{stage} (stereoisomer {index + 1} of {len(ligands)})"
            report(name, (index + progress) / len(ligands))

        results.append(docker.dock(ligand, options, on_stage))
    best = min(range(len(results)), key=lambda i: results[i].best_score)
    table = [
        {"smiles": smiles[i] if i < len(smiles) else "", "best_score": results[i].best_score}
        for i in range(len(results))
    ]
    return results[best], {"stereoisomers": table, "best_stereoisomer": best + 1}


HANDLERS: dict[str, Callable[..., tuple[dict[str, Any], list[StoredFile]]]] = {
    DOCK_KIND: run_docking,
    CHUNK_KIND: run_screen_chunk,
    VALIDATION_KIND: run_validation,
}
