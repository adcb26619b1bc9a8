"""Reading and writing jobs: every state change goes through here.

State changes are compare-and-set updates fenced by ``(status, attempt)``: a worker writes
progress or an outcome only while the job is still ``running`` on *its* attempt. A job that
was cancelled, deleted or handed to another worker meanwhile ignores the late write, so a
killed or orphaned worker can never complete a job twice or overwrite a cancel. Every such
write goes through :func:`fenced`; a screen's rows are written by :attr:`Store.screens`.
No other module writes to the database.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, case, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from dockyard.errors import ConflictError, ForbiddenError, NotFoundError
from dockyard.jobs.accounts import SINGLE_USER, AccountStore, Viewer, visible, writable
from dockyard.jobs.archive_store import ArchiveStore
from dockyard.jobs.changes import ChangeReader, CommitAnnouncer, pushes_itself, redis_channel
from dockyard.jobs.db import make_engine, migrate, patiently
from dockyard.jobs.fence import Claim, ClaimLost, StoredFile, fenced, file_row
from dockyard.jobs.models import (
    CONTAINER_KINDS,
    FINISHED_STATUSES,
    Job,
    JobFile,
    JobStatus,
    utcnow,
)
from dockyard.jobs.notifications import NotificationStore, record_finished
from dockyard.jobs.retention import RetentionStore, delete_jobs
from dockyard.jobs.screen_store import ScreenStore
from dockyard.jobs.stats import StatsStore


@dataclass(frozen=True)
class PendingJob:
    """A pending job as a queue sees it: the attempt it will run as is ``attempt + 1``."""

    job_id: int
    attempt: int
    time_limit: float
    updated_at: datetime
    bulk: bool = False
    """A screen's chunk: queued behind single dockings."""


class Store:
    """The job database. One per process; cheap to share between threads."""

    def __init__(self, engine: Engine, announce_to: str | None = None):
        """``announce_to``: a Redis URL on which to announce each commit's changed jobs to
        the servers' live updates, when the database cannot notify them itself (SQLite)."""
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.announce_to = None if pushes_itself(engine.url) else announce_to
        self._announcer: CommitAnnouncer | None = None
        if self.announce_to:
            self._announcer = CommitAnnouncer(self.announce_to, redis_channel(self.identity))
            self._announcer.watch(self._sessions)

    @classmethod
    def open(
        cls,
        database_url: str,
        *,
        migrate_schema: bool = True,
        wait_seconds: float = 0.0,
        announce_to: str | None = None,
    ) -> Store:
        """The store of that database, its schema brought up to date first; a database that
        does not answer yet is waited for up to ``wait_seconds``, then UnavailableError."""
        engine = make_engine(database_url)
        if migrate_schema:
            try:
                patiently(lambda: migrate(engine), "migrating", give_up_after=wait_seconds)
            except BaseException:
                engine.dispose()
                raise
        return cls(engine, announce_to)

    def close(self) -> None:
        if self._announcer is not None:
            self._announcer.close()
        self.engine.dispose()

    def session(self) -> Session:
        """A session for reading; writes are the methods of the store and of its screens."""
        return self._sessions()

    @cached_property
    def screens(self) -> ScreenStore:
        """The writes and reads of screens, their chunks and their ligands."""
        return ScreenStore(self.session)

    @cached_property
    def accounts(self) -> AccountStore:
        """Users, API tokens, groups and shares."""
        return AccountStore(self.session)

    @cached_property
    def stats(self) -> StatsStore:
        """Aggregate counts and timings of every job, for ``/metrics`` (read at scrape time)."""
        return StatsStore(self.session)

    @cached_property
    def notifications(self) -> NotificationStore:
        """The outbox of job-end notifications, and users' notification settings."""
        return NotificationStore(self.session)

    @cached_property
    def retention(self) -> RetentionStore:
        """When finished jobs expire, purging them, compacting old screens, pins."""
        return RetentionStore(self.session)

    @cached_property
    def archives(self) -> ArchiveStore:
        """What an archive's export reads and its import writes (:mod:`dockyard.jobs.archive`)."""
        return ArchiveStore(self.session)

    @cached_property
    def changes(self) -> ChangeReader:
        """The one read of every job's changes a server's live updates make."""
        return ChangeReader(self.session)

    @cached_property
    def identity(self) -> str:
        """A short name of this database, the same in every process that opens it: keeps apart
        what two servers on one machine (say, a test run beside the real one) write locally."""
        url = self.engine.url.render_as_string(hide_password=False)
        return hashlib.sha256(url.encode()).hexdigest()[:12]

    def ping(self) -> None:
        with self.session() as session:
            session.execute(select(1))

    # -- submitting and reading -------------------------------------------------------

    def create_job(
        self,
        *,
        kind: str,
        name: str,
        params: dict[str, Any],
        files: Iterable[StoredFile] = (),
        max_attempts: int = 3,
        time_limit: float = 3600.0,
        owner_id: int | None = None,
        webhook_url: str | None = None,
    ) -> Job:
        now = utcnow()
        with self.session() as session, session.begin():
            job = Job(
                owner_id=owner_id,
                webhook_url=webhook_url,
                kind=kind,
                name=name,
                params=params,
                status=JobStatus.PENDING,
                stage="queued",
                progress=0.0,
                attempt=0,
                max_attempts=max_attempts,
                time_limit=time_limit,
                created_at=now,
                updated_at=now,
            )
            session.add(job)
            session.flush()
            for stored in files:
                session.add(file_row(job.id, stored, role="input"))
        return job

    def get_job(self, job_id: int) -> Job:
        with self.session() as session:
            job = session.get(Job, job_id)
        if job is None:
            raise NotFoundError(f"There is no job {job_id}.", field="job_id")
        return job

    def job_for(
        self, viewer: Viewer, job_id: int, *, write: bool = False, field: str = "job_id"
    ) -> Job:
        """Job ``job_id`` as ``viewer`` may have it: another user's job is missing, never
        forbidden (its existence is not theirs to learn); a job shared with them is read-only.
        ``field`` names the parameter that gave the id (``screen_id``: a screen)."""
        noun = "screen" if field == "screen_id" else "job"
        with self.session() as session:
            job = session.scalar(select(Job).where(Job.id == job_id, visible(viewer)))
            if job is not None and write:
                mine = session.scalar(select(Job.id).where(Job.id == job_id, writable(viewer)))
                if mine is None:
                    raise ForbiddenError(
                        f"{noun.capitalize()} {job_id} is shared with you to read; only its "
                        "owner can change it.",
                        field=field,
                    )
        if job is None:
            raise NotFoundError(f"There is no {noun} {job_id}.", field=field)
        return job

    def list_jobs(
        self,
        *,
        limit: int = 50,
        before: int | None = None,
        status: JobStatus | None = None,
        parent_id: int | None = None,
        viewer: Viewer = SINGLE_USER,
    ) -> list[Job]:
        """Newest first; ``before`` is the cursor (an id), so a page costs the same at any depth.

        Top-level jobs only, unless ``parent_id`` asks for the chunks of one screen; only
        those ``viewer`` may read.
        """
        query = (
            select(Job)
            .where(Job.parent_id == parent_id, visible(viewer))
            .order_by(Job.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(Job.id < before)
        if status is not None:
            query = query.where(Job.status == status)
        with self.session() as session:
            return list(session.scalars(query))

    def count_jobs(self) -> dict[str, int]:
        query = select(Job.status, func.count()).group_by(Job.status)
        with self.session() as session:
            counts = {status.value: 0 for status in JobStatus}
            counts.update({status.value: n for status, n in session.execute(query)})
        return counts

    def changed_since(
        self, since: datetime, job_id: int | None = None, viewer: Viewer = SINGLE_USER
    ) -> list[Job]:
        """Jobs ``viewer`` may read updated after ``since``, oldest change first (live updates)."""
        query = (
            select(Job)
            .where(Job.updated_at > since, visible(viewer))
            .order_by(Job.updated_at)
            .limit(200)
        )
        if job_id is not None:
            query = query.where(Job.id == job_id)
        else:
            query = query.where(Job.parent_id.is_(None))
        with self.session() as session:
            return list(session.scalars(query))

    def read_file(self, job_id: int, name: str) -> StoredFile:
        with self.session() as session:
            row = session.get(JobFile, (job_id, name))
        if row is None:
            raise NotFoundError(f"Job {job_id} has no file {name!r}.", field="file")
        return StoredFile(row.name, row.content, row.media_type)

    def list_files(self, job_id: int) -> list[tuple[str, str, int]]:
        query = select(JobFile.name, JobFile.role, JobFile.size).where(JobFile.job_id == job_id)
        with self.session() as session:
            return [tuple(row) for row in session.execute(query.order_by(JobFile.name))]

    def find_upload(self, job_id: int, stem: str) -> StoredFile | None:
        """The upload stored as ``stem.<format>`` (e.g. ``reference_ligand.sdf``), if any."""
        query = select(JobFile).where(JobFile.job_id == job_id, JobFile.name.startswith(f"{stem}."))
        with self.session() as session:
            for row in session.scalars(query):
                if row.name.rpartition(".")[0] == stem:
                    return StoredFile(row.name, row.content, row.media_type)
        return None

    # -- user actions -----------------------------------------------------------------

    def cancel_job(self, job_id: int) -> Job:
        """Cancel a pending or running job (and a screen's chunks); runners kill the processes."""
        now = utcnow()
        unfinished = Job.status.in_([JobStatus.PENDING, JobStatus.RUNNING])
        cancelled = {
            "status": JobStatus.CANCELLED,
            "stage": "cancelled",
            "finished_at": now,
            "updated_at": now,
            "lease_expires_at": None,
        }
        with self.session() as session, session.begin():
            result = session.execute(
                update(Job).where(Job.id == job_id, unfinished).values(**cancelled)
            )
            session.execute(
                update(Job).where(Job.parent_id == job_id, unfinished).values(**cancelled)
            )
            if result.rowcount:
                record_finished(session, [job_id])
        job = self.get_job(job_id)
        if result.rowcount == 0:
            raise ConflictError(
                f"Job {job_id} is already {job.status.value} and cannot be cancelled.",
                field="job_id",
            )
        return job

    def delete_job(self, job_id: int) -> None:
        with self.session() as session, session.begin():
            deleted = delete_jobs(session, [job_id])
        if deleted == 0:
            raise NotFoundError(f"There is no job {job_id}.", field="job_id")

    # -- worker side --------------------------------------------------------------------

    def claim(self, job_id: int, worker: str, lease_seconds: float) -> Claim | None:
        """Take a pending job for ``worker``; None when someone else took it first."""
        now = utcnow()
        with self.session() as session, session.begin():
            job = session.get(Job, job_id)
            if job is None or job.status != JobStatus.PENDING or job.kind in CONTAINER_KINDS:
                return None
            attempt = job.attempt + 1
            result = session.execute(
                update(Job)
                .where(
                    Job.id == job_id, Job.status == JobStatus.PENDING, Job.attempt == job.attempt
                )
                .values(
                    status=JobStatus.RUNNING,
                    attempt=attempt,
                    worker=worker,
                    started_at=now,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    stage="starting",
                    progress=0.0,
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                return None
            return Claim(job_id, attempt, job.time_limit)

    def pending_ids(self, limit: int) -> list[int]:
        """The next pending jobs to run, fairly: single dockings before screen chunks, and
        within each, round-robin across owners — an owner's n-th oldest pending job waits
        behind everyone's turns before it, counting the jobs they already have running — so one
        person's big screen or batch never holds back another's jobs."""
        runnable = Job.kind.not_in(CONTAINER_KINDS)
        bulk = case((Job.parent_id.is_(None), 0), else_=1)
        turn = func.row_number().over(partition_by=(bulk, Job.owner_id), order_by=Job.id)
        ranked = (
            select(Job.id, Job.owner_id, bulk.label("bulk"), turn.label("turn"))
            .where(Job.status == JobStatus.PENDING, runnable)
            .subquery()
        )
        running = (
            select(Job.owner_id, func.count().label("running"))
            .where(Job.status == JobStatus.RUNNING, runnable)
            .group_by(Job.owner_id)
            .subquery()
        )
        query = (
            select(ranked.c.id)
            .outerjoin(running, running.c.owner_id.is_not_distinct_from(ranked.c.owner_id))
            .order_by(
                ranked.c.bulk,
                ranked.c.turn + func.coalesce(running.c.running, 0),
                ranked.c.id,
            )
            .limit(limit)
        )
        with self.session() as session:
            return list(session.scalars(query))

    def claim_next(self, worker: str, lease_seconds: float, limit: int) -> list[Claim]:
        claims: list[Claim] = []
        for job_id in self.pending_ids(limit * 2):
            if len(claims) == limit:
                break
            claim = self.claim(job_id, worker, lease_seconds)
            if claim is not None:
                claims.append(claim)
        return claims

    def still_owned(self, claims: Sequence[Claim]) -> set[int]:
        """The ids among ``claims`` still theirs: running on the claimed attempt, or finished
        by it (the process is only tidying up, e.g. settling its screen). A job cancelled,
        deleted or queued again is not: its process is to be killed."""
        if not claims:
            return set()
        attempts = {claim.job_id: claim.attempt for claim in claims}
        ours = [JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED]
        query = select(Job.id, Job.attempt).where(Job.id.in_(attempts), Job.status.in_(ours))
        with self.session() as session:
            return {
                job_id for job_id, attempt in session.execute(query) if attempts[job_id] == attempt
            }

    def renew_leases(self, claims: Sequence[Claim], lease_seconds: float) -> None:
        if not claims:
            return
        expires = utcnow() + timedelta(seconds=lease_seconds)
        with self.session() as session, session.begin():
            for claim in claims:
                with contextlib.suppress(ClaimLost):
                    fenced(session, claim, lease_expires_at=expires)

    def _write_fenced(self, claim: Claim, *where: Any, **values: Any) -> bool:
        """One fenced update in its own transaction; False when the claim is lost."""
        try:
            with self.session() as session, session.begin():
                fenced(session, claim, *where, **values)
        except ClaimLost:
            return False
        return True

    def set_progress(self, claim: Claim, stage: str, progress: float) -> bool:
        return self._write_fenced(claim, stage=stage, progress=progress, updated_at=utcnow())

    def advance_progress(self, claim: Claim, stage: str, progress: float) -> bool:
        """Raise the progress of ``stage`` while the job is still in it: for the process that
        supervises a job, which must never overwrite a later stage the job has written."""
        return self._write_fenced(
            claim, Job.stage == stage, Job.progress < progress,
            progress=progress, updated_at=utcnow(),
        )  # fmt: skip

    def complete(
        self,
        claim: Claim,
        *,
        results: dict[str, Any],
        provenance: dict[str, Any],
        files: Iterable[StoredFile] = (),
    ) -> bool:
        """Write the outcome and output files in one transaction, only if still ours."""
        values = {
            "status": JobStatus.COMPLETED,
            "stage": "completed",
            "progress": 1.0,
            "results": results,
            "provenance": provenance,
            "error": None,
            "error_detail": None,
        }
        return self._finish(claim, values, files)

    def fail(
        self,
        claim: Claim,
        error: str,
        *,
        detail: str | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> bool:
        values: dict[str, Any] = {
            "status": JobStatus.FAILED,
            "stage": "failed",
            "error": error,
            "error_detail": detail,
        }
        if provenance is not None:
            values["provenance"] = provenance
        return self._finish(claim, values)

    def _finish(
        self, claim: Claim, values: dict[str, Any], files: Iterable[StoredFile] = ()
    ) -> bool:
        """Write a final status (and output files) and its notifications in one transaction,
        only if the job is still ours."""
        now = utcnow()
        try:
            with self.session() as session, session.begin():
                fenced(
                    session, claim, **values, finished_at=now, updated_at=now,
                    lease_expires_at=None,
                )  # fmt: skip
                for stored in files:
                    session.merge(file_row(claim.job_id, stored, role="output"))
                record_finished(session, [claim.job_id])
        except ClaimLost:
            return False
        return True

    def retry_or_fail(self, claim: Claim, cause: str) -> JobStatus | None:
        """The process running ``claim`` died: queue it again, or fail it after the last try."""
        with self.session() as session:
            job = session.get(Job, claim.job_id)
        if job is None or job.status != JobStatus.RUNNING or job.attempt != claim.attempt:
            return None
        if claim.attempt >= job.max_attempts:
            message = f"{cause} on each of {claim.attempt} attempts; giving up."
            return JobStatus.FAILED if self.fail(claim, message) else None
        queued = self._write_fenced(
            claim,
            status=JobStatus.PENDING,
            stage=f"queued again: {cause} (attempt {claim.attempt})",
            progress=0.0,
            worker=None,
            lease_expires_at=None,
            updated_at=utcnow(),
        )
        return JobStatus.PENDING if queued else None

    def release(self, claim: Claim) -> bool:
        """Hand a job back to the queue on a clean shutdown, without using up one of its tries."""
        return self._write_fenced(
            claim,
            status=JobStatus.PENDING,
            stage="queued again: the server stopped",
            progress=0.0,
            worker=None,
            lease_expires_at=None,
            max_attempts=Job.max_attempts + 1,
            updated_at=utcnow(),
        )

    def set_worker(self, claim: Claim, worker: str) -> None:
        self._write_fenced(claim, worker=worker)

    def expired_claims(self, now: datetime | None = None) -> list[tuple[Claim, str | None]]:
        """Running jobs whose worker stopped renewing its lease, with the worker's name."""
        query = select(Job.id, Job.attempt, Job.time_limit, Job.worker).where(
            Job.status == JobStatus.RUNNING,
            Job.kind.not_in(CONTAINER_KINDS),
            Job.lease_expires_at < (now or utcnow()),
        )
        with self.session() as session:
            return [
                (Claim(job_id, attempt, time_limit), worker)
                for job_id, attempt, time_limit, worker in session.execute(query)
            ]

    def running_claims(self) -> list[tuple[Claim, str | None]]:
        query = select(Job.id, Job.attempt, Job.time_limit, Job.worker).where(
            Job.status == JobStatus.RUNNING, Job.kind.not_in(CONTAINER_KINDS)
        )
        with self.session() as session:
            return [
                (Claim(job_id, attempt, time_limit), worker)
                for job_id, attempt, time_limit, worker in session.execute(query)
            ]

    def pending_jobs(self, *, after: int = 0, limit: int = 500) -> list[PendingJob]:
        """Runnable pending jobs by id from ``after`` on: what a queue should hold (reconciler)."""
        query = (
            select(Job.id, Job.attempt, Job.time_limit, Job.updated_at, Job.parent_id.is_not(None))
            .where(
                Job.status == JobStatus.PENDING,
                Job.kind.not_in(CONTAINER_KINDS),
                Job.id > after,
            )
            .order_by(Job.id)
            .limit(limit)
        )
        with self.session() as session:
            return [PendingJob(*row) for row in session.execute(query)]


__all__ = ["FINISHED_STATUSES", "Claim", "ClaimLost", "Store", "StoredFile", "fenced", "file_row"]
