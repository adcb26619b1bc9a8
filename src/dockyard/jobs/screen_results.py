"""Reading a screen back: progress, leaderboard, the ligand table, histogram and exports.

Exports are generators that read the table in batches, so a million-ligand screen streams to
the client without being held in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select

from dockyard.errors import InputError, NotFoundError
from dockyard.jobs.models import (
    SCREEN_KIND,
    VALIDATION_KIND,
    Job,
    LigandStatus,
    Screen,
    ScreenLigand,
    utcnow,
)
from dockyard.jobs.store import Store

SORTABLE = {
    "score": ScreenLigand.score,
    "ligand_efficiency": ScreenLigand.ligand_efficiency,
    "heavy_atoms": ScreenLigand.heavy_atoms,
    "molecular_weight": ScreenLigand.molecular_weight,
    "logp": ScreenLigand.logp,
    "index": ScreenLigand.index,
    "name": ScreenLigand.name,
    "status": ScreenLigand.status,
}
CSV_COLUMNS = (
    "rank", "index", "name", "status", "score", "ligand_efficiency", "heavy_atoms",
    "molecular_weight", "logp", "smiles", "duplicate_of", "error", "plausible",
    "plausibility_failed", "rmsd_to_reference", "rmsd_kind", "mcs_atoms",
)  # fmt: skip
EXPORT_BATCH = 1000


@dataclass(frozen=True)
class LigandFilter:
    status: LigandStatus | None = None
    name: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    plausible: bool | None = None
    """True: only ligands whose top pose passed the plausibility checks (the checked ones are
    the screen's best); False: only those that failed them."""

    def apply(self, query):
        if self.status is not None:
            query = query.where(ScreenLigand.status == self.status)
        if self.name:
            query = query.where(ScreenLigand.name.contains(self.name, autoescape=True))
        if self.min_score is not None:
            query = query.where(ScreenLigand.score >= self.min_score)
        if self.max_score is not None:
            query = query.where(ScreenLigand.score <= self.max_score)
        if self.plausible is not None:
            query = query.where(ScreenLigand.plausible.is_(self.plausible))
        return query


def get_screen(store: Store, screen_id: int) -> tuple[Job, Screen]:
    with store.session() as session:
        job = session.get(Job, screen_id)
        counts = session.get(Screen, screen_id)
    if job is None or job.kind != SCREEN_KIND or counts is None:
        raise NotFoundError(f"There is no screen {screen_id}.", field="screen_id")
    return job, counts


def ligand_row(ligand: ScreenLigand) -> dict[str, Any]:
    return {
        "index": ligand.index,
        "name": ligand.name,
        "status": ligand.status.value,
        "score": ligand.score,
        "ligand_efficiency": ligand.ligand_efficiency,
        "heavy_atoms": ligand.heavy_atoms,
        "molecular_weight": ligand.molecular_weight,
        "logp": ligand.logp,
        "smiles": ligand.canonical_smiles
        or (ligand.source if ligand.source_format == "smiles" else None),
        "duplicate_of": ligand.duplicate_of,
        "error": ligand.error,
        **top_pose_evidence(ligand.evidence or {}),
    }


def top_pose_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """The top pose's evidence, every key present (None for a ligand that was not checked)."""
    return {
        "plausibility": evidence.get("plausibility"),
        "rmsd_to_reference": evidence.get("rmsd_to_reference"),
        "rmsd_kind": evidence.get("rmsd_kind"),
        "mcs_atoms": evidence.get("mcs_atoms"),
    }


def overview(store: Store, screen_id: int, top: int = 10) -> dict[str, Any]:
    """Counts, throughput, an ETA and the leaderboard of the best ``top`` ligands."""
    job, counts = get_screen(store, screen_id)
    finished = counts.completed + counts.failed + counts.duplicates
    end = job.finished_at or utcnow()
    elapsed = (end - job.started_at).total_seconds() if job.started_at else 0.0
    per_minute = finished / elapsed * 60 if elapsed > 0 and finished else None
    remaining = counts.total - finished
    eta = remaining / per_minute * 60 if per_minute and not job.status.is_finished else None
    leaders, _ = list_ligands(
        store, screen_id, sort="score", descending=False,
        where=LigandFilter(status=LigandStatus.COMPLETED), limit=top,
    )  # fmt: skip
    return {
        "counts": {
            "total": counts.total,
            "completed": counts.completed,
            "failed": counts.failed,
            "duplicates": counts.duplicates,
            "pending": remaining,
        },
        "best_score": counts.best_score,
        "throughput_per_minute": per_minute,
        "eta_seconds": eta,
        "elapsed_seconds": elapsed,
        "leaderboard": leaders,
    }


def validation(store: Store, screen_id: int) -> dict[str, Any] | None:
    """The redocking of the screen's reference ligand (``validate=true``), or None: its
    ``status``, ``job_id``, ``error`` and, once completed, ``top1_rmsd``, ``best_rmsd``,
    ``best_rank`` and ``best_score``."""
    query = select(Job).where(Job.parent_id == screen_id, Job.kind == VALIDATION_KIND)
    with store.session() as session:
        job = session.scalars(query.limit(1)).first()
    if job is None:
        return None
    found = dict.fromkeys(("top1_rmsd", "best_rmsd", "best_rank", "best_score"))
    found |= (job.results or {}).get("validation") or {}
    return {"status": job.status.value, "job_id": job.id, "error": job.error, **found}


def list_ligands(
    store: Store,
    screen_id: int,
    *,
    sort: str = "score",
    descending: bool = False,
    where: LigandFilter = LigandFilter(),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the ligand table and how many rows match; empty scores sort last."""
    if sort not in SORTABLE:
        raise InputError(
            f"Cannot sort by {sort!r}; use one of {', '.join(SORTABLE)}.", field="sort"
        )
    column = SORTABLE[sort]
    order = column.desc() if descending else column.asc()
    base = where.apply(select(ScreenLigand).where(ScreenLigand.screen_id == screen_id))
    query = base.order_by(column.is_(None), order, ScreenLigand.index).limit(limit).offset(offset)
    count = where.apply(
        select(func.count()).select_from(ScreenLigand).where(ScreenLigand.screen_id == screen_id)
    )
    with store.session() as session:
        rows = [ligand_row(ligand) for ligand in session.scalars(query)]
        total = session.scalar(count) or 0
    return rows, total


def get_ligand(store: Store, screen_id: int, index: int) -> ScreenLigand:
    with store.session() as session:
        ligand = session.get(ScreenLigand, (screen_id, index))
    if ligand is None:
        raise NotFoundError(f"Screen {screen_id} has no ligand {index}.", field="index")
    return ligand


def poses_removed(ligand: ScreenLigand) -> bool:
    """Whether a retention pass dropped this docked ligand's poses (compaction keeps the
    poses of a screen's best ligands and every ligand's scores)."""
    return ligand.status == LigandStatus.COMPLETED and ligand.poses_sdf is None


def ligand_poses(ligand: ScreenLigand) -> str:
    """A ligand's poses as SDF text; a clear 404 when compaction removed them."""
    if poses_removed(ligand):
        raise NotFoundError(
            f"The poses of ligand {ligand.index} were removed when its screen was compacted "
            "(an old screen keeps the scores of every ligand and the poses of its best ones); "
            "its scores are still here.",
            field="index",
            code="poses_removed",
        )
    return ligand.poses_sdf or ""


def histogram(store: Store, screen_id: int, bins: int = 30) -> dict[str, Any]:
    """Counts of best scores in equal-width bins (edges in kcal/mol).

    Scores above 0 mean the ligand did not fit in the box; they are counted apart so one
    of them does not squash the whole plot.
    """
    get_screen(store, screen_id)
    query = select(ScreenLigand.score).where(
        ScreenLigand.screen_id == screen_id, ScreenLigand.score.is_not(None)
    )
    with store.session() as session:
        scores = np.fromiter(session.scalars(query), dtype=float)
    fitting = scores[scores <= 0]
    above_zero = int(scores.size - fitting.size)
    if fitting.size == 0:
        return {"edges": [], "counts": [], "above_zero": above_zero}
    counts, edges = np.histogram(fitting, bins=bins)
    return {
        "edges": [round(float(edge), 3) for edge in edges],
        "counts": counts.tolist(),
        "above_zero": above_zero,
    }


def _ranked(store: Store, screen_id: int, limit: int | None = None) -> Iterator[ScreenLigand]:
    query = (
        select(ScreenLigand)
        .where(ScreenLigand.screen_id == screen_id)
        .order_by(ScreenLigand.score.is_(None), ScreenLigand.score, ScreenLigand.index)
        .execution_options(yield_per=EXPORT_BATCH)
    )
    if limit is not None:
        query = query.where(ScreenLigand.status == LigandStatus.COMPLETED).limit(limit)
    with store.session() as session:
        yield from session.scalars(query)


def results_csv(store: Store, screen_id: int) -> Iterator[str]:
    """The whole ligand table as CSV, best score first, in pieces."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for rank, ligand in enumerate(_ranked(store, screen_id), start=1):
        row = ligand_row(ligand)
        row["rank"] = rank if ligand.score is not None else ""
        checks = row["plausibility"]
        if checks is not None:
            row["plausible"] = checks["valid"]
            row["plausibility_failed"] = " ".join(checks["failed"])
        writer.writerow(row)
        if rank % EXPORT_BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def top_poses_sdf(store: Store, screen_id: int, top: int) -> Iterator[str]:
    """The best pose of each of the ``top`` best ligands as one SDF, scores as properties."""
    for rank, ligand in enumerate(_ranked(store, screen_id, limit=top), start=1):
        if not ligand.poses_sdf:
            continue
        first = ligand.poses_sdf.split("$$$$", 1)[0].rstrip("\n") + "\n"
        if not first.endswith("M  END\n"):
            first += "\n"  # a blank line closes the last property block
        properties = {
            "dockyard_rank": rank,
            "ligand_name": ligand.name,
            "library_index": ligand.index,
            "screen_score": ligand.score,
            "ligand_efficiency": ligand.ligand_efficiency,
            "smiles": ligand.canonical_smiles,
        }
        extra = "".join(f">  <{key}>\n{value}\n\n" for key, value in properties.items())
        yield f"{first}{extra}$$$$\n"
