"""Writing screens: the screen with its ligands and chunks, ligand results, counters, the end.

Part of the store (reached as ``store.screens``): like every write to a job, a chunk's ligand
result is fenced by the chunk's claim (:func:`dockyard.jobs.fence.fenced`), and is written
only while the ligand is still ``pending``, so a chunk re-run after a crash docks only what is
left and no ligand is counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from dockyard.jobs.fence import Claim, StoredFile, fenced, file_row
from dockyard.jobs.models import (
    CHUNK_KIND,
    SCREEN_KIND,
    VALIDATION_KIND,
    Job,
    JobStatus,
    LigandStatus,
    Screen,
    ScreenLigand,
    utcnow,
)
from dockyard.jobs.notifications import record_finished
from dockyard.jobs.params import ChunkParams, ScreenParams

if TYPE_CHECKING:
    from dockyard.chem.ligand.library import LibraryEntry

INSERT_BATCH = 5000
"""Library entries inserted per statement while a screen is stored."""

COUNTER_COLUMNS = {"docked": "completed", "failed": "failed", "duplicates": "duplicates"}
"""Which counter of the screen each ligand outcome adds to."""


@dataclass
class LigandOutcome:
    """A ligand's result: the columns to write, and the counter it adds to."""

    values: dict[str, Any]
    counter: str


class ScreenStore:
    """The screens of one :class:`~dockyard.jobs.store.Store`, written through its sessions
    and the fence."""

    def __init__(self, sessions: Callable[[], Session]):
        self.session = sessions

    def create(
        self,
        *,
        name: str,
        params: dict[str, Any],
        files: Iterable[StoredFile],
        entries: Iterable[LibraryEntry],
        chunk_size: Callable[[int], int],
        max_attempts: int,
        time_limit: float,
        owner_id: int | None = None,
        validate: bool = False,
        webhook_url: str | None = None,
    ) -> Job:
        """Store a screen, its ligands and its chunks (owned by its owner) in one transaction
        (with ``validate``, first the job that redocks its reference ligand:
        :mod:`dockyard.jobs.validation`).

        ``entries`` is read as a stream; ``chunk_size`` gets the number of ligands once they
        are all stored. A library that turns out unusable halfway leaves nothing behind.
        """
        now = utcnow()
        with self.session() as session, session.begin():
            screen = Job(
                owner_id=owner_id,
                webhook_url=webhook_url,
                kind=SCREEN_KIND,
                name=name,
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
            session.add_all(file_row(screen.id, stored, role="input") for stored in files)
            total = 0
            for batch in _batches(entries):
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
            size = chunk_size(total)
            session.add(Screen(job_id=screen.id, total=total, completed=0, failed=0, duplicates=0))
            child = {
                "parent_id": screen.id,
                "owner_id": owner_id,
                "status": JobStatus.PENDING,
                "stage": "queued",
                "progress": 0.0,
                "attempt": 0,
                "max_attempts": max_attempts,
                "time_limit": time_limit,
                "created_at": now,
                "updated_at": now,
            }
            if validate:
                session.execute(
                    insert(Job),
                    [{**child, "kind": VALIDATION_KIND, "name": f"{name} [validation]",
                      "params": {}}],
                )  # fmt: skip
            session.execute(
                insert(Job),
                [
                    {
                        **child,
                        "kind": CHUNK_KIND,
                        "name": f"{screen.name} [{start + 1}-{min(start + size, total)}]",
                        "params": ChunkParams(start, min(start + size, total)).to_dict(),
                    }
                    for start in range(0, total, size)
                ],
            )
            screen.params = {**params, "total": total, "chunk_size": size}
        return screen

    def mark_running(self, screen_id: int) -> None:
        """The screen's first chunk has started."""
        now = utcnow()
        with self.session() as session, session.begin():
            session.execute(
                update(Job)
                .where(Job.id == screen_id, Job.status == JobStatus.PENDING)
                .values(status=JobStatus.RUNNING, started_at=now, updated_at=now, stage="docking")
            )

    def touch(self, screen_id: int) -> None:
        """Refresh the screen's progress from its counters (live pages follow ``updated_at``)."""
        with self.session() as session, session.begin():
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

    def record_ligand(
        self, claim: Claim, screen_id: int, index: int, outcome: LigandOutcome
    ) -> None:
        """Write one ligand's result and count it, fenced by the chunk's claim.

        Raises :class:`~dockyard.jobs.fence.ClaimLost` (writing nothing) when the chunk is
        no longer this worker's; a ligand already written is left as it is.
        """
        now = utcnow()
        with self.session() as session, session.begin():
            fenced(session, claim, updated_at=now)
            written = session.execute(
                update(ScreenLigand)
                .where(
                    ScreenLigand.screen_id == screen_id,
                    ScreenLigand.index == index,
                    ScreenLigand.status == LigandStatus.PENDING,
                )
                .values(**outcome.values, finished_at=now)
            )
            if written.rowcount != 1:
                return
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

    def pending_ligands(self, screen_id: int, chunk: ChunkParams) -> list[ScreenLigand]:
        """The chunk's ligands still to dock, in library order."""
        query = (
            select(ScreenLigand)
            .where(
                ScreenLigand.screen_id == screen_id,
                ScreenLigand.index >= chunk.start,
                ScreenLigand.index < chunk.stop,
                ScreenLigand.status == LigandStatus.PENDING,
            )
            .order_by(ScreenLigand.index)
        )
        with self.session() as session:
            return list(session.scalars(query))

    def kth_best_score(self, screen_id: int, k: int) -> float | None:
        """The k-th best score docked so far, or None while fewer than k ligands have one."""
        query = (
            select(ScreenLigand.score)
            .where(ScreenLigand.screen_id == screen_id, ScreenLigand.score.is_not(None))
            .order_by(ScreenLigand.score)
            .offset(k - 1)
            .limit(1)
        )
        with self.session() as session:
            return session.scalar(query)

    def first_with_smiles(self, screen_id: int, smiles: str, index: int) -> int | None:
        """The lowest-numbered other ligand of the screen already known to be this molecule."""
        query = select(func.min(ScreenLigand.index)).where(
            ScreenLigand.screen_id == screen_id,
            ScreenLigand.canonical_smiles == smiles,
            ScreenLigand.index < index,
        )
        with self.session() as session:
            return session.scalar(query)

    def settle(self, screen_ids: Iterable[int] | None = None) -> list[int]:
        """Finish screens none of whose chunks is left to run; return the ids finished.

        Ligands of a chunk that failed for good are marked failed with the chunk's error, so
        the counts always add up to the total.
        """
        unfinished = Job.status.in_([JobStatus.PENDING, JobStatus.RUNNING])
        query = select(Job.id).where(Job.kind == SCREEN_KIND, unfinished)
        if screen_ids is not None:
            query = query.where(Job.id.in_(list(screen_ids)))
        finished: list[int] = []
        with self.session() as session:
            candidates = list(session.scalars(query))
        for screen_id in candidates:
            with self.session() as session, session.begin():
                # One settler at a time per screen (a row lock on PostgreSQL; SQLite has one
                # writer).
                session.execute(select(Job.id).where(Job.id == screen_id).with_for_update())
                busy = session.scalar(
                    select(func.count()).where(Job.parent_id == screen_id, unfinished)
                )
                if busy:
                    continue
                chunk_error = session.scalar(
                    select(Job.error).where(
                        Job.parent_id == screen_id,
                        Job.kind == CHUNK_KIND,
                        Job.status == JobStatus.FAILED,
                    )
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
                ended = session.execute(
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
                if ended.rowcount:
                    record_finished(session, [screen_id])
            finished.append(screen_id)
        return finished


def _mark_duplicates(session: Session, screen_id: int) -> None:
    """Report every repeat of a molecule, including copies docked at the same moment.

    Chunks skip a molecule already known to the screen, but two chunks can meet the same
    molecule at once. When the screen ends, each later copy points at the first one; with
    ``skip_duplicates`` a docked copy becomes a duplicate too, so each molecule is ranked once.
    """
    skip = ScreenParams.from_job(session.get(Job, screen_id)).skip_duplicates
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
                "plausible": None,
                "evidence": None,
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


def _summary(counts: Screen) -> dict[str, Any]:
    return {
        "best_score": counts.best_score,
        "total": counts.total,
        "completed": counts.completed,
        "failed": counts.failed,
        "duplicates": counts.duplicates,
    }


def _batches(entries: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) == INSERT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
