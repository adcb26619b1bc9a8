"""Archives in the store: what an export reads beyond a job's row and files, and the import.

Part of the store (reached as ``store.archives``). An import writes the job, its files, its
children (a screen's chunks and validation) and a screen's ligands in one transaction: an
archive found bad halfway through its ligands leaves nothing behind. Imported jobs are
finished, so nothing here is fenced: no worker holds a claim on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from dockyard.jobs.fence import StoredFile, file_row
from dockyard.jobs.models import Job, Screen, ScreenLigand

LIGAND_BATCH = 1000
"""Ligand rows read, or inserted, per statement: bounds the memory of a screen's archive."""


@dataclass(frozen=True)
class RestoredJob:
    """A job as an archive gives it back: its columns and its files with their roles."""

    values: dict[str, Any]
    files: list[tuple[StoredFile, str]] = field(default_factory=list)


class ArchiveStore:
    """The archive reads and writes of one :class:`~dockyard.jobs.store.Store`."""

    def __init__(self, sessions: Callable[[], Session]):
        self.session = sessions

    def children(self, job_id: int) -> list[Job]:
        """A screen's chunks and validation job, oldest first."""
        query = select(Job).where(Job.parent_id == job_id).order_by(Job.id)
        with self.session() as session:
            return list(session.scalars(query))

    def screen_counts(self, job_id: int) -> Screen | None:
        with self.session() as session:
            return session.get(Screen, job_id)

    def ligand_batches(
        self, screen_id: int, columns: Sequence[str]
    ) -> Iterator[list[dict[str, Any]]]:
        """Every ligand of a screen by index as a dict of ``columns``, ``LIGAND_BATCH`` at a
        time, each batch its own short read (keyset paging: no transaction stays open while
        the archive streams; plain rows, no ORM objects to build)."""
        selected = [getattr(ScreenLigand, name) for name in columns]
        last = -1
        while True:
            query = (
                select(*selected)
                .where(ScreenLigand.screen_id == screen_id, ScreenLigand.index > last)
                .order_by(ScreenLigand.index)
                .limit(LIGAND_BATCH)
            )
            with self.session() as session:
                batch = [dict(zip(columns, row, strict=True)) for row in session.execute(query)]
            if not batch:
                return
            yield batch
            last = batch[-1]["index"]

    def restore(
        self,
        job: RestoredJob,
        *,
        owner_id: int | None,
        children: Sequence[RestoredJob] = (),
        counts: dict[str, Any] | None = None,
        ligands: Iterable[dict[str, Any]] = (),
    ) -> Job:
        """Store an archived job under a new id, owned by ``owner_id``, in one transaction.

        ``ligands`` is read as a stream while the transaction is open; an error it raises
        (a bad line of the archive) rolls everything back.
        """
        with self.session() as session, session.begin():
            row = _add_job(session, job, owner_id=owner_id, parent_id=None)
            for child in children:
                _add_job(session, child, owner_id=owner_id, parent_id=row.id)
            if counts is not None:
                session.add(Screen(job_id=row.id, **counts))
                batch: list[dict[str, Any]] = []
                for ligand in ligands:
                    batch.append({"screen_id": row.id, **ligand})
                    if len(batch) == LIGAND_BATCH:
                        session.execute(insert(ScreenLigand), batch)
                        batch = []
                if batch:
                    session.execute(insert(ScreenLigand), batch)
        return row


def _add_job(
    session: Session, job: RestoredJob, *, owner_id: int | None, parent_id: int | None
) -> Job:
    row = Job(**job.values, owner_id=owner_id, parent_id=parent_id, lease_expires_at=None)
    session.add(row)
    session.flush()
    session.add_all(file_row(row.id, stored, role=role) for stored, role in job.files)
    return row
