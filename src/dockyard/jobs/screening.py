"""Virtual screens: one receptor and box, a library of ligands, docked in chunks.

A screen is a job of kind ``screen`` that no runner executes itself. Its ligands are rows of
``screen_ligands``; its work is done by ``screen_chunk`` jobs (ordinary job rows with
``parent_id``), which every runner executes through ``run_job`` like any other job. A chunk
computes the grid maps once and docks its ligands (:mod:`dockyard.jobs.screen_chunks`). This
module submits screens and keeps their state: running, counters, finished.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy import func, insert, select, update

from dockyard.chem import DockingOptions
from dockyard.chem.core.options import random_seed
from dockyard.chem.ligand.library import read_library
from dockyard.errors import InputError
from dockyard.jobs.models import (
    CHUNK_KIND,
    SCREEN_KIND,
    Job,
    JobStatus,
    LigandStatus,
    Screen,
    ScreenLigand,
    utcnow,
)
from dockyard.jobs.store import Store, file_row
from dockyard.jobs.submit import DockRequest, prepare_target

INSERT_BATCH = 5000
MAX_CHUNK = 200
SCREEN_DEFAULT_POSES = 3


@dataclass(frozen=True)
class LibraryUpload:
    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class ScreenRequest:
    target: DockRequest
    """The receptor, box and preparation options (no ligand: those come from the library)."""
    library: LibraryUpload | None
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    skip_duplicates: bool = True
    chunk_size: Any = None


def chunk_size_for(total: int, workers: int, requested: Any = None) -> int:
    """One chunk per worker for a small screen, so each worker process computes the grid maps
    once; at most ``MAX_CHUNK`` ligands each for a large one, so a crash or a cancel costs
    little and new workers find work."""
    if requested not in (None, ""):
        try:
            size = int(requested)
        except (TypeError, ValueError):
            raise InputError(f"chunk_size must be a whole number, got {requested!r}.",
                             field="chunk_size") from None  # fmt: skip
        if not 1 <= size <= 10_000:
            raise InputError("chunk_size must be between 1 and 10000.", field="chunk_size")
        return size
    return max(1, min(MAX_CHUNK, math.ceil(total / max(1, workers))))


def submit_screen(
    store: Store,
    request: ScreenRequest,
    *,
    max_upload_bytes: int,
    workers: int,
    max_attempts: int = 3,
    time_limit: float = 3600.0,
) -> Job:
    """Check the target, read the library as a stream, and store the screen with its chunks.

    Everything happens in one transaction: a library that turns out unusable halfway leaves
    nothing behind.
    """
    if request.library is None:
        raise InputError("A ligand library file is required.", field="library")
    options_given = {
        key: value for key, value in request.options.items() if value not in (None, "")
    }
    options_given.setdefault("num_poses", SCREEN_DEFAULT_POSES)
    target = prepare_target(request.target, max_upload_bytes=max_upload_bytes, require_ligand=False)
    options = DockingOptions.from_fields(options_given)
    options = options.with_seed(options.seed or random_seed())
    params = {
        **target.params,
        "library": {"filename": request.library.filename},
        "skip_duplicates": bool(request.skip_duplicates),
        **{key: value for key, value in options.to_dict().items() if key != "cpu"},
    }
    now = utcnow()
    with store.session() as session, session.begin():
        screen = Job(
            kind=SCREEN_KIND,
            name=(request.name or "").strip()[:200] or f"screen of {request.library.filename}",
            params=params,
            status=JobStatus.PENDING,
            stage="queued",
            max_attempts=max_attempts,
            time_limit=time_limit,
            created_at=now,
            updated_at=now,
        )
        session.add(screen)
        session.flush()
        session.add_all(file_row(screen.id, stored, role="input") for stored in target.files)
        total = 0
        for batch in _batches(read_library(request.library.stream, request.library.filename)):
            session.execute(
                insert(ScreenLigand),
                [
                    {
                        "screen_id": screen.id,
                        "index": entry.index,
                        "name": entry.name,
                        "source": entry.source,
                        "source_format": entry.format,
                        "status": LigandStatus.PENDING,
                    }
                    for entry in batch
                ],
            )
            total += len(batch)
        size = chunk_size_for(total, workers, request.chunk_size)
        session.add(Screen(job_id=screen.id, total=total, completed=0, failed=0, duplicates=0))
        session.execute(
            insert(Job),
            [
                {
                    "kind": CHUNK_KIND,
                    "parent_id": screen.id,
                    "name": f"{screen.name} [{start + 1}-{min(start + size, total)}]",
                    "params": {"start": start, "stop": min(start + size, total)},
                    "status": JobStatus.PENDING,
                    "stage": "queued",
                    "progress": 0.0,
                    "attempt": 0,
                    "max_attempts": max_attempts,
                    "time_limit": time_limit,
                    "created_at": now,
                    "updated_at": now,
                }
                for start in range(0, total, size)
            ],
        )
        screen.params = {**params, "total": total, "chunk_size": size}
    return screen


def _batches(entries: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) == INSERT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def mark_screen_running(store: Store, screen_id: int) -> None:
    now = utcnow()
    with store.session() as session, session.begin():
        session.execute(
            update(Job)
            .where(Job.id == screen_id, Job.status == JobStatus.PENDING)
            .values(status=JobStatus.RUNNING, started_at=now, updated_at=now, stage="docking")
        )


def touch_screen(store: Store, screen_id: int) -> None:
    """Refresh the screen's progress from its counters (live pages follow ``updated_at``)."""
    with store.session() as session, session.begin():
        counts = session.get(Screen, screen_id)
        if counts is None:
            return
        finished = counts.completed + counts.failed + counts.duplicates
        session.execute(
            update(Job)
            .where(Job.id == screen_id, Job.status == JobStatus.RUNNING)
            .values(
                progress=finished / max(1, counts.total),
                stage=f"{finished} of {counts.total} ligands done",
                results=_summary(counts),
                updated_at=utcnow(),
            )
        )


def _summary(counts: Screen) -> dict[str, Any]:
    return {
        "best_score": counts.best_score,
        "total": counts.total,
        "completed": counts.completed,
        "failed": counts.failed,
        "duplicates": counts.duplicates,
    }


def settle_screens(store: Store, screen_ids: Iterable[int] | None = None) -> list[int]:
    """Finish screens none of whose chunks is left to run; return the ids finished.

    Ligands of a chunk that failed for good are marked failed with the chunk's error, so
    the counts always add up to the total.
    """
    unfinished = Job.status.in_([JobStatus.PENDING, JobStatus.RUNNING])
    query = select(Job.id).where(Job.kind == SCREEN_KIND, unfinished)
    if screen_ids is not None:
        query = query.where(Job.id.in_(list(screen_ids)))
    finished: list[int] = []
    with store.session() as session:
        candidates = list(session.scalars(query))
    for screen_id in candidates:
        with store.session() as session, session.begin():
            # One settler at a time per screen (a row lock on PostgreSQL; SQLite has one writer).
            session.execute(select(Job.id).where(Job.id == screen_id).with_for_update())
            busy = session.scalar(
                select(func.count()).where(Job.parent_id == screen_id, unfinished)
            )
            if busy:
                continue
            chunk_error = session.scalar(
                select(Job.error).where(Job.parent_id == screen_id, Job.status == JobStatus.FAILED)
            )
            orphaned = session.execute(
                update(ScreenLigand)
                .where(ScreenLigand.screen_id == screen_id,
                       ScreenLigand.status == LigandStatus.PENDING)
                .values(status=LigandStatus.FAILED, finished_at=utcnow(),
                        error=f"its chunk failed: {chunk_error or 'unknown error'}")
            ).rowcount  # fmt: skip
            if orphaned:
                session.execute(
                    update(Screen)
                    .where(Screen.job_id == screen_id)
                    .values(failed=Screen.failed + orphaned)
                )
            _mark_duplicates(session, screen_id)
            counts = session.get(Screen, screen_id)
            now = utcnow()
            session.execute(
                update(Job)
                .where(Job.id == screen_id, unfinished)
                .values(
                    status=JobStatus.COMPLETED,
                    stage="completed",
                    progress=1.0,
                    results=_summary(counts),
                    finished_at=now,
                    updated_at=now,
                )
            )
        finished.append(screen_id)
    return finished


def _mark_duplicates(session: Any, screen_id: int) -> None:
    """Report every repeat of a molecule, including copies docked at the same moment.

    Chunks skip a molecule already known to the screen, but two chunks can meet the same
    molecule at once. When the screen ends, each later copy points at the first one; with
    ``skip_duplicates`` a docked copy becomes a duplicate too, so each molecule is ranked once.
    """
    skip = (session.get(Job, screen_id).params or {}).get("skip_duplicates", True)
    repeated = (
        select(ScreenLigand.canonical_smiles, func.min(ScreenLigand.index).label("first"))
        .where(ScreenLigand.screen_id == screen_id, ScreenLigand.canonical_smiles.is_not(None))
        .group_by(ScreenLigand.canonical_smiles)
        .having(func.count() > 1)
        .subquery()
    )
    copies = session.execute(
        select(ScreenLigand.index, ScreenLigand.status, repeated.c.first)
        .join(repeated, ScreenLigand.canonical_smiles == repeated.c.canonical_smiles)
        .where(ScreenLigand.screen_id == screen_id, ScreenLigand.index > repeated.c.first)
    ).all()
    dropped = 0
    for index, status, first in copies:
        values: dict[str, Any] = {"duplicate_of": first}
        row = (ScreenLigand.screen_id == screen_id, ScreenLigand.index == index)
        if skip and status == LigandStatus.COMPLETED:
            values |= {
                "status": LigandStatus.DUPLICATE,
                "error": f"same molecule as ligand {first + 1}, docked at the same time",
                "score": None,
                "ligand_efficiency": None,
                "num_poses": None,
                "poses_sdf": None,
            }
            result = session.execute(
                update(ScreenLigand)
                .where(*row, ScreenLigand.status == LigandStatus.COMPLETED)
                .values(**values)
            )
            dropped += result.rowcount
        else:
            session.execute(update(ScreenLigand).where(*row).values(**values))
    if dropped:
        best = select(func.min(ScreenLigand.score)).where(ScreenLigand.screen_id == screen_id)
        session.execute(
            update(Screen)
            .where(Screen.job_id == screen_id)
            .values(
                completed=Screen.completed - dropped,
                duplicates=Screen.duplicates + dropped,
                best_score=best.scalar_subquery(),
            )
        )
