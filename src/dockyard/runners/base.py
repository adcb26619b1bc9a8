"""The small interface the web app and CLI use to hand jobs to whatever runs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class RegisteredWorker:
    """A process that takes jobs, as its runner knows it (not what it runs: that is the store's).

    Local runners are one worker, this server's supervisor; RQ workers are those registered in
    Redis, with RQ's state, heartbeats and counts.
    """

    name: str
    hostname: str | None = None
    pid: int | None = None
    state: str = "idle"
    queues: list[str] = field(default_factory=list)
    birth: datetime | None = None
    last_heartbeat: datetime | None = None
    successful_jobs: int | None = None
    failed_jobs: int | None = None
    rq_job: str | None = None
    """The RQ job it is running, if any."""


class Runner(Protocol):
    def start(self) -> None:
        """Begin taking jobs (and recover work that an earlier run left behind)."""

    def stop(self) -> None:
        """Stop taking jobs; hand running ones back to the queue."""

    def submitted(self, job_id: int) -> None:
        """A new job is in the store: run it soon."""

    def describe(self) -> dict[str, object]:
        """What the runner is doing, for health and status pages."""

    def workers(self) -> list[RegisteredWorker]:
        """The processes taking jobs, for ``/api/workers`` (may raise while a queue is away)."""
