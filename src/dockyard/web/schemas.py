"""What the API answers: public shapes, built from job rows in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from dockyard.jobs.files import DOWNLOADS, POSES_PDBQT
from dockyard.jobs.models import Delivery, DeliveryStatus, Job, JobStatus
from dockyard.jobs.store import Store


class JobCreated(BaseModel):
    job_id: int
    status: JobStatus
    url: str


class DeliveryInfo(BaseModel):
    """One notification of a job's end: where it goes, what it says, how it went."""

    id: int
    event_id: str
    channel: str
    target: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    """When it is tried next (pending ones only)."""
    last_error: str | None
    payload: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, row: Delivery) -> DeliveryInfo:
        pending = row.status == DeliveryStatus.PENDING
        return cls(
            id=row.id,
            event_id=row.event_id,
            channel=row.channel,
            target=row.target,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if pending else None,
            last_error=row.last_error,
            payload=row.payload,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
        )


class JobSummary(BaseModel):
    id: int
    name: str
    kind: str
    status: JobStatus
    stage: str
    progress: float
    best_score: float | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_job(cls, job: Job) -> JobSummary:
        return cls(
            id=job.id,
            name=job.name,
            kind=job.kind,
            status=job.status,
            stage=job.stage,
            progress=job.progress,
            best_score=(job.results or {}).get("best_score"),
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            updated_at=job.updated_at,
        )


class JobDetail(JobSummary):
    attempt: int
    max_attempts: int
    worker: str | None
    params: dict[str, Any]
    results: dict[str, Any] | None
    provenance: dict[str, Any] | None
    files: list[str]
    downloads: dict[str, str]
    keep: bool
    """Pinned by its owner: kept whatever the retention (``POST /api/jobs/{id}/keep``)."""
    expires_at: datetime | None
    """When the reaper purges it with its files; null while it runs, when pinned or kept
    forever."""

    @classmethod
    def from_job_and_files(
        cls, job: Job, files: list[str], expires_at: datetime | None = None
    ) -> JobDetail:
        downloads = (
            {name: f"/api/jobs/{job.id}/{name}" for name in DOWNLOADS}
            if job.status == JobStatus.COMPLETED
            else {}
        )
        return cls(
            **JobSummary.from_job(job).model_dump(),
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            worker=job.worker,
            params=job.params,
            results=job.results,
            provenance=job.provenance,
            files=files,
            downloads=downloads,
            keep=job.keep,
            expires_at=expires_at,
        )

    @classmethod
    def read(cls, store: Store, job_id: int, *, retention_days: int) -> JobDetail:
        """A job with the names of its stored files and when it expires (``retention_days``:
        the server's setting), as the API and the job page show it."""
        job = store.get_job(job_id)
        files = [name for name, _role, _size in store.list_files(job_id)]
        return cls.from_job_and_files(job, files, store.retention.expires_at(job, retention_days))


class JobPage(BaseModel):
    jobs: list[JobSummary]
    next_before: int | None


class LegacyResults(BaseModel):
    scores: list[float]
    best_score: float | None
    num_poses: int
    output_file: str | None


class LegacyStatus(BaseModel):
    """The answer of the system Dockyard replaces, kept so its clients keep working."""

    job_id: int
    status: JobStatus
    message: str
    results: LegacyResults | None

    @classmethod
    def from_job(cls, job: Job) -> LegacyStatus:
        results = None
        if job.results is not None:
            scores = [pose["affinity"] for pose in job.results.get("poses", [])]
            results = LegacyResults(
                scores=scores,
                best_score=job.results.get("best_score"),
                num_poses=len(scores),
                output_file=f"/api/jobs/{job.id}/{POSES_PDBQT}",
            )
        return cls(
            job_id=job.id, status=job.status, message=job.error or job.stage, results=results
        )


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorBody(BaseModel):
    """Every error the API answers: ``{"error": {"code", "message", "field"}}``."""

    error: ErrorDetail


ERROR_STATUSES = {
    400: "A body that cannot be parsed (a broken multipart form).",
    401: "No valid session or API token (a server that has users).",
    403: "Refused: a state-changing request from another site's page (its Origin or Referer), "
    "a missing CSRF token, or a change to a job shared with you read-only.",
    404: "No such job, screen, ligand, pose or file.",
    405: "The path does not take this method (see the Allow header).",
    409: "The job is not in a state that allows this.",
    413: "An upload over the size limit.",
    415: "A file of the wrong kind, or a body that is not multipart/form-data.",
    422: "A value that cannot be used; ``field`` names it.",
    429: "Over a per-user quota; the message names the limit and how to free it.",
}


ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorBody"}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entries of the given error statuses, all with the one error model.

    The model is referenced as JSON explicitly: FastAPI would file a ``model`` under the
    route's own media type (``text/event-stream`` for the live stream).
    """
    return {
        status: {
            "description": ERROR_STATUSES[status],
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for status in statuses
    }


def error_components() -> dict[str, Any]:
    """:class:`ErrorBody` and what it holds as OpenAPI components, for :data:`ERROR_SCHEMA`."""
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    return {**schema.pop("$defs", {}), "ErrorBody": schema}
