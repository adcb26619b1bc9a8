"""Retention: when a finished job expires, purging expired jobs, compacting old screens.

Part of the store (reached as ``store.retention``). A finished top-level job expires
``retention_days`` after it finished: its owner's own setting when they have one (0: never),
else the server's (``DOCKYARD_RETENTION_DAYS``; 0: never). Pending and running jobs never
expire, nor does a job its owner pinned (``keep``). Purging deletes a job with everything it
holds (:func:`delete_jobs`: its files, its chunks and their files, its screen's ligands).

Every write is a short transaction of its own: jobs go ``batch`` at a time, and a big
screen's ligands a :data:`LIGAND_BATCH` at a time before the screen itself, so a pass over a
large store never holds the database for long (on SQLite a write locks the whole file).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dockyard.errors import InputError
from dockyard.jobs.models import (
    FINISHED_STATUSES,
    SCREEN_KIND,
    Job,
    JobFile,
    Lease,
    LigandStatus,
    ScreenLigand,
    User,
    utcnow,
)

LIGAND_BATCH = 2000
"""Ligand rows deleted (or stripped of their poses) per transaction."""
VACUUMED_TABLES = ("jobs", "job_files", "screens", "screen_ligands")


@dataclass
class Freed:
    """What a purge or a compaction removed (or, in a dry run, would remove)."""

    jobs: int = 0
    files: int = 0
    ligands: int = 0
    """Ligand rows deleted with their screens."""
    poses: int = 0
    """Ligands of compacted screens whose poses were dropped (their scores stay)."""
    screens_compacted: int = 0
    bytes: int = 0
    """Stored file contents and ligand poses, as the storage quota counts them."""

    def add(self, other: Freed) -> Freed:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        return self

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def delete_jobs(session: Session, job_ids: Sequence[int]) -> int:
    """Delete jobs with their files; their chunks, screen rows and ligands go by the foreign
    keys' cascades. The number of jobs deleted."""
    if not job_ids:
        return 0
    chunks = select(Job.id).where(Job.parent_id.in_(job_ids))
    session.execute(
        delete(JobFile).where(or_(JobFile.job_id.in_(job_ids), JobFile.job_id.in_(chunks))),
        execution_options={"synchronize_session": False},
    )
    result = session.execute(
        delete(Job).where(Job.id.in_(job_ids)), execution_options={"synchronize_session": False}
    )
    return result.rowcount


def finished_top_level() -> ColumnElement[bool]:
    """Jobs a retention pass may touch: finished, top-level (chunks go with their screen),
    not pinned."""
    return and_(
        Job.parent_id.is_(None),
        Job.status.in_(FINISHED_STATUSES),
        Job.keep.is_(False),
        Job.finished_at.is_not(None),
    )


def check_days(days: int | None, field: str = "retention_days") -> int | None:
    """A retention in days: None (the server's setting), 0 (forever) or a positive number."""
    if days is not None and not 0 <= days <= 36_500:
        raise InputError(f"{field} must be between 0 (keep forever) and 36500 days.", field=field)
    return days


class RetentionStore:
    """Expiry, purges, compaction and the fleet's turns, over one store's sessions."""

    def __init__(self, sessions: Callable[[], Session]):
        self.session = sessions

    # -- when ---------------------------------------------------------------------------

    def effective_days(self, owner_id: int | None, default_days: int) -> int:
        """Days ``owner_id``'s finished jobs are kept (0: forever)."""
        if owner_id is None:
            return default_days
        with self.session() as session:
            own = session.scalar(select(User.retention_days).where(User.id == owner_id))
        return default_days if own is None else own

    def expires_at(self, job: Job, default_days: int) -> datetime | None:
        """When a retention pass will purge ``job``; None while it runs, when pinned, when
        kept forever, and for a screen's chunk (it goes with its screen)."""
        if job.keep or job.finished_at is None or job.parent_id is not None:
            return None
        days = self.effective_days(job.owner_id, default_days)
        return job.finished_at + timedelta(days=days) if days > 0 else None

    def expired(self, now: datetime, default_days: int) -> ColumnElement[bool]:
        """The jobs whose retention ran out by ``now``: each user's own days, else the
        server's, compared with ``finished_at`` (portable: no date arithmetic in SQL)."""
        with self.session() as session:
            overrides = dict(
                session.execute(
                    select(User.id, User.retention_days).where(User.retention_days.is_not(None))
                ).all()
            )
        clauses = [
            and_(Job.owner_id == user_id, Job.finished_at < now - timedelta(days=days))
            for user_id, days in overrides.items()
            if days > 0
        ]
        if default_days > 0:
            not_overridden = or_(Job.owner_id.is_(None), Job.owner_id.not_in(overrides))
            cutoff = now - timedelta(days=default_days)
            clauses.append(and_(not_overridden, Job.finished_at < cutoff))
        return and_(finished_top_level(), or_(*clauses) if clauses else false())

    @staticmethod
    def finished_before(cutoff: datetime) -> ColumnElement[bool]:
        """Every finished, unpinned top-level job that finished before ``cutoff`` (a purge by
        hand, whatever the retention settings)."""
        return and_(finished_top_level(), Job.finished_at < cutoff)

    # -- pinning ------------------------------------------------------------------------

    def set_keep(self, job_id: int, keep: bool) -> None:
        with self.session() as session, session.begin():
            session.execute(update(Job).where(Job.id == job_id).values(keep=keep))

    # -- purging ------------------------------------------------------------------------

    def count(self, which: ColumnElement[bool]) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(Job).where(which)) or 0

    def purge(
        self,
        which: ColumnElement[bool],
        *,
        batch: int,
        dry_run: bool = False,
        progress: Callable[[Freed], None] | None = None,
        between: Callable[[], None] = lambda: None,
    ) -> Freed:
        """Delete the jobs ``which`` selects, ``batch`` at a time, each batch its own
        transaction; ``progress`` hears what each batch freed, ``between`` is called after
        every transaction (to pace a pass, or stop it). A dry run only measures."""
        total = Freed()
        after = 0
        while True:
            query = select(Job.id).where(which, Job.id > after).order_by(Job.id).limit(batch)
            with self.session() as session:
                job_ids = list(session.scalars(query))
            if not job_ids:
                return total
            after = job_ids[-1]
            freed = self._purge_batch(which, job_ids, dry_run=dry_run, between=between)
            total.add(freed)
            if progress is not None:
                progress(freed)

    def _purge_batch(
        self,
        which: ColumnElement[bool],
        job_ids: list[int],
        *,
        dry_run: bool,
        between: Callable[[], None],
    ) -> Freed:
        """One batch; ``which`` is asked again as the jobs are deleted (and locked, on
        PostgreSQL), so a job pinned meanwhile stays."""
        freed = Freed()
        still = and_(Job.id.in_(job_ids), which)
        with self.session() as session:
            screens = list(session.scalars(select(Job.id).where(still, Job.kind == SCREEN_KIND)))
        for screen_id in screens:
            freed.add(self._drop_ligands(screen_id, dry_run=dry_run, between=between))
        with self.session() as session, session.begin():
            if not dry_run:
                job_ids = list(session.scalars(select(Job.id).where(still).with_for_update()))
            chunks = select(Job.id).where(Job.parent_id.in_(job_ids))
            owned = or_(JobFile.job_id.in_(job_ids), JobFile.job_id.in_(chunks))
            measure = select(func.count(), func.coalesce(func.sum(JobFile.size), 0))
            files, size = session.execute(measure.where(owned)).one()
            freed.files += files
            freed.bytes += int(size)
            freed.jobs += len(job_ids) if dry_run else delete_jobs(session, job_ids)
        between()
        return freed

    def _drop_ligands(self, screen_id: int, *, dry_run: bool, between: Callable[[], None]) -> Freed:
        """A screen's ligand rows, :data:`LIGAND_BATCH` at a time (by library index)."""
        freed = Freed()
        with self.session() as session:
            last = session.scalar(
                select(func.max(ScreenLigand.index)).where(ScreenLigand.screen_id == screen_id)
            )
        if last is None:
            return freed
        for start in range(0, last + 1, LIGAND_BATCH):
            rows = and_(
                ScreenLigand.screen_id == screen_id,
                ScreenLigand.index >= start,
                ScreenLigand.index < start + LIGAND_BATCH,
            )
            with self.session() as session, session.begin():
                count, size = session.execute(
                    select(func.count(), _poses_bytes()).where(rows)
                ).one()
                if not dry_run:
                    session.execute(delete(ScreenLigand).where(rows))
            freed.ligands += count
            freed.bytes += int(size)
            between()
        return freed

    # -- compacting ---------------------------------------------------------------------

    def compact(
        self,
        now: datetime,
        days: int,
        keep: int,
        *,
        batch: int,
        between: Callable[[], None] = lambda: None,
    ) -> Freed:
        """Screens finished over ``days`` ago keep every ligand's scores and the poses of
        their ``keep`` best ligands only; each screen is compacted once."""
        total = Freed()
        if days <= 0:
            return total
        due = and_(
            finished_top_level(),
            Job.kind == SCREEN_KIND,
            Job.compacted_at.is_(None),
            Job.finished_at < now - timedelta(days=days),
        )
        while True:
            with self.session() as session:
                screen_ids = list(
                    session.scalars(select(Job.id).where(due).order_by(Job.id).limit(batch))
                )
            if not screen_ids:
                return total
            for screen_id in screen_ids:
                total.add(self._compact_screen(screen_id, keep, now, between))

    def _compact_screen(
        self, screen_id: int, keep: int, now: datetime, between: Callable[[], None]
    ) -> Freed:
        freed = Freed(screens_compacted=1)
        best = (
            select(ScreenLigand.index)
            .where(
                ScreenLigand.screen_id == screen_id,
                ScreenLigand.status == LigandStatus.COMPLETED,
            )
            .order_by(ScreenLigand.score.is_(None), ScreenLigand.score, ScreenLigand.index)
            .limit(keep)
        )
        with self.session() as session:
            last = session.scalar(
                select(func.max(ScreenLigand.index)).where(ScreenLigand.screen_id == screen_id)
            )
            kept = set(session.scalars(best))
        for start in range(0, (last if last is not None else -1) + 1, LIGAND_BATCH):
            rows = and_(
                ScreenLigand.screen_id == screen_id,
                ScreenLigand.index >= start,
                ScreenLigand.index < start + LIGAND_BATCH,
                ScreenLigand.poses_sdf.is_not(None),
            )
            kept_here = [index for index in kept if start <= index < start + LIGAND_BATCH]
            if kept_here:
                rows = and_(rows, ScreenLigand.index.not_in(kept_here))
            with self.session() as session, session.begin():
                count, size = session.execute(
                    select(func.count(), _poses_bytes()).where(rows)
                ).one()
                session.execute(
                    update(ScreenLigand).where(rows).values(poses_sdf=None),
                    execution_options={"synchronize_session": False},
                )
            freed.poses += count
            freed.bytes += int(size)
            between()
        with self.session() as session, session.begin():
            session.execute(update(Job).where(Job.id == screen_id).values(compacted_at=now))
        return freed

    # -- giving the space back ----------------------------------------------------------

    def database_bytes(self) -> int:
        """The size of the whole database: SQLite's file (pages), PostgreSQL's database."""
        with self.session() as session:
            if session.get_bind().dialect.name == "sqlite":
                pages = session.execute(text("PRAGMA page_count")).scalar_one()
                return pages * session.execute(text("PRAGMA page_size")).scalar_one()
            return session.execute(text("SELECT pg_database_size(current_database())")).scalar_one()

    def vacuum(self) -> str:
        """Give the space of deleted rows back: SQLite rewrites its file (``VACUUM``, then a
        checkpoint so the file itself shrinks); PostgreSQL runs ``VACUUM (ANALYZE)`` on the
        tables a purge empties (autovacuum would reclaim it anyway, later). Outside any
        transaction, as both require. What was done, as a sentence."""
        with self.session() as session:
            engine = session.get_bind().engine
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("VACUUM")
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                return "SQLite VACUUM rewrote the database file without the free pages."
            for table in VACUUMED_TABLES:
                connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
        return (
            "PostgreSQL VACUUM (ANALYZE) made the deleted rows' space reusable "
            f"({', '.join(VACUUMED_TABLES)}); the files keep their size until reused."
        )

    # -- turns of a fleet ---------------------------------------------------------------

    def take_turn(
        self, name: str, holder: str, seconds: float, now: datetime | None = None
    ) -> tuple[bool, datetime]:
        """Take the turn ``name`` for ``seconds`` if no one holds it: (taken, until when the
        turn is held). A compare-and-set in the database, so of several processes asking at
        once exactly one gets it."""
        now = now or utcnow()
        until = now + timedelta(seconds=seconds)
        with self.session() as session, session.begin():
            result = session.execute(
                update(Lease)
                .where(Lease.name == name, Lease.expires_at <= now)
                .values(holder=holder, expires_at=until)
            )
            if result.rowcount == 1:
                return True, until
            held = session.scalar(select(Lease.expires_at).where(Lease.name == name))
        if held is not None:
            return False, held
        try:
            with self.session() as session, session.begin():
                session.add(Lease(name=name, holder=holder, expires_at=until))
        except IntegrityError:
            return self.take_turn(name, holder, seconds, now)
        return True, until


def _poses_bytes() -> Any:
    return func.coalesce(func.sum(func.length(ScreenLigand.poses_sdf)), 0)


__all__ = ["LIGAND_BATCH", "Freed", "RetentionStore", "check_days", "delete_jobs"]
