"""The compare-and-set every worker write goes through, and the values it works with.

A worker holds a :class:`Claim` on a job: the job's attempt number at the moment it was handed
out. Every write of that worker is an update conditional on the job still being ``running`` on
that attempt (:func:`fenced`), so a job cancelled, deleted or handed to another worker ignores
late writes. The job store and the screen store both write through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from dockyard.jobs.models import Job, JobFile, JobStatus


@dataclass(frozen=True)
class StoredFile:
    name: str
    content: bytes
    media_type: str = "application/octet-stream"


class ClaimLost(Exception):
    """The job is no longer this worker's (cancelled, deleted or re-queued): stop quietly."""


@dataclass(frozen=True)
class Claim:
    """A job handed to a worker: the attempt number fences every later write."""

    job_id: int
    attempt: int
    time_limit: float


def fenced(session: Session, claim: Claim, *where: Any, **values: Any) -> None:
    """Update the claimed job's row with ``values`` only while the claim still holds.

    The compare-and-set every worker write goes through: the job must still be ``running`` on
    the claim's attempt (and match any further ``where`` conditions). Raises
    :class:`ClaimLost` when no row matched, so the caller's transaction is rolled back and
    whatever else it was about to write is not written.
    """
    result = session.execute(
        update(Job)
        .where(
            Job.id == claim.job_id,
            Job.status == JobStatus.RUNNING,
            Job.attempt == claim.attempt,
            *where,
        )
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        raise ClaimLost(f"job {claim.job_id} is no longer held by attempt {claim.attempt}")


def file_row(job_id: int, stored: StoredFile, role: str) -> JobFile:
    return JobFile(
        job_id=job_id,
        name=stored.name,
        role=role,
        media_type=stored.media_type,
        size=len(stored.content),
        content=stored.content,
    )
