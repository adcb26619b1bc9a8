"""What ``/metrics`` reports of the job database, read with a few aggregate queries.

Every server of a fleet reads the same rows, so each reports the same truth however many
there are. Each query is one aggregate (``GROUP BY``, or ``COUNT ... FILTER`` per bucket),
never a row per job: a scrape costs three scans of the jobs table and a sum of the screens'
counters, whatever they hold.

Histogram buckets are counted in SQL as Prometheus defines them, cumulatively (``le``: the
jobs that took at most that long). Durations are seconds between two stored times, computed
by the database (:class:`SecondsBetween`).

A failed job's cause is read from its error message, which Dockyard itself writes for the
failures it detects (a time limit, a process that died, a worker told to stop): a fixed set
of causes (:data:`FAILURE_CAUSES`), so the label never takes a value per job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from dockyard.jobs.models import (
    CONTAINER_KINDS,
    DOCK_KIND,
    FINISHED_STATUSES,
    SCREEN_KIND,
    Job,
    JobStatus,
    Screen,
)

TOP_LEVEL_KINDS = (DOCK_KIND, SCREEN_KIND)
"""The kinds people submit; a screen's chunks and validation are counted in its queue only."""
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)
"""Seconds, from a small docking (about one) to a long screen (hours, a day)."""
FAILURE_CAUSES = (
    ("time_limit", "Stopped after exceeding the time limit%"),
    ("retries_exhausted", "% attempts; giving up."),
    ("process_exit", "The job's process %"),
    ("stopped", "Stopped on its worker by an RQ stop command%"),
    ("unexpected", "Unexpected error:%"),
)
"""(cause, SQL ``LIKE`` pattern of the message written for it), first match wins; see
``runners.supervise`` (time limit, exit code), ``Store.retry_or_fail`` (a process that died on
every attempt), ``runners.rq.horse`` (an RQ stop command) and ``jobs.run`` (a bug)."""
JOB_ERROR = "job_error"
"""Any other failure: an error the job's own work reported (unusable input, preparation,
Vina), with a message meant for the person who submitted it."""
CAUSES = (*(cause for cause, _ in FAILURE_CAUSES), JOB_ERROR)


class SecondsBetween(FunctionElement):
    """``later - earlier`` in seconds, at least zero (the clocks of two machines may disagree
    by a little: a negative wait counts as none), computed by the database."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(SecondsBetween, "sqlite")
def _sqlite_seconds(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"max(0.0, (julianday({later}) - julianday({earlier})) * 86400.0)"


@compiles(SecondsBetween, "postgresql")
def _postgresql_seconds(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"GREATEST(0.0, EXTRACT(EPOCH FROM ({later} - {earlier})))"


@dataclass(frozen=True)
class Histogram:
    """Cumulative bucket counts (one per bound of :data:`DURATION_BUCKETS`, then ``+Inf``)."""

    buckets: tuple[int, ...]
    total_seconds: float

    @property
    def count(self) -> int:
        return self.buckets[-1]


@dataclass(frozen=True)
class JobStats:
    jobs: dict[tuple[str, str], int]
    """Submitted jobs (docks and screens) by (kind, status), every pair present."""
    pending: dict[str, int]
    """Runnable pending jobs by queue: ``interactive`` (dockings), ``bulk`` (screen chunks)."""
    durations: dict[str, Histogram]
    """Finished jobs that started, by kind: ``finished_at - started_at``."""
    waits: dict[str, Histogram]
    """The same jobs: ``started_at - created_at`` (to the start of their last attempt)."""
    ligands: dict[str, int]
    """Screen ligands done, every screen together: ``completed``, ``failed``, ``duplicates``."""
    failures: dict[str, int]
    """Failed jobs of every kind that runs, by cause (:data:`CAUSES`, every one present)."""


class StatsStore:
    """The aggregate reads of ``/metrics`` (no writes)."""

    def __init__(self, sessions: Callable[[], Session]):
        self._sessions = sessions

    def read(self) -> JobStats:
        with self._sessions() as session:
            jobs, pending = _counts(session)
            durations, waits = _histograms(session)
            return JobStats(
                jobs=jobs,
                pending=pending,
                durations=durations,
                waits=waits,
                ligands=_ligands(session),
                failures=_failures(session),
            )


def _counts(session: Session) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    top = Job.parent_id.is_(None).label("top")
    query = select(Job.kind, Job.status, top, func.count()).group_by(Job.kind, Job.status, top)
    jobs = {(kind, status.value): 0 for kind in TOP_LEVEL_KINDS for status in JobStatus}
    pending = {"interactive": 0, "bulk": 0}
    for kind, status, is_top, count in session.execute(query):
        if is_top and kind in TOP_LEVEL_KINDS:
            jobs[kind, status.value] += count
        if status == JobStatus.PENDING and kind not in CONTAINER_KINDS:
            pending["interactive" if is_top else "bulk"] += count
    return jobs, pending


def _histograms(session: Session) -> tuple[dict[str, Histogram], dict[str, Histogram]]:
    """Both histograms of every kind in one scan of the finished jobs."""
    ran = (
        select(
            Job.kind.label("kind"),
            SecondsBetween(Job.finished_at, Job.started_at).label("ran"),
            SecondsBetween(Job.started_at, Job.created_at).label("waited"),
        )
        .where(
            Job.parent_id.is_(None),
            Job.kind.in_(TOP_LEVEL_KINDS),
            Job.status.in_(FINISHED_STATUSES),
            Job.started_at.is_not(None),
            Job.finished_at.is_not(None),
        )
        .cte("ran")
        .prefix_with("MATERIALIZED")  # each time computed once per job, not once per bucket
    )
    columns = [ran.c.kind, func.count()]
    for seconds in (ran.c.ran, ran.c.waited):
        columns.append(func.coalesce(func.sum(seconds), 0.0))
        columns += [func.count().filter(seconds <= bound) for bound in DURATION_BUCKETS]
    durations: dict[str, Histogram] = {}
    waits: dict[str, Histogram] = {}
    width = len(DURATION_BUCKETS) + 1
    for kind, count, *sums in session.execute(select(*columns).group_by(ran.c.kind)):
        for into, part in ((durations, sums[:width]), (waits, sums[width:])):
            into[kind] = Histogram((*(int(n) for n in part[1:]), count), float(part[0]))
    empty = Histogram((0,) * width, 0.0)
    for kind in TOP_LEVEL_KINDS:
        durations.setdefault(kind, empty)
        waits.setdefault(kind, empty)
    return durations, waits


def _ligands(session: Session) -> dict[str, int]:
    """From the screens' own counters, which their chunks keep: one row per screen."""
    columns = (Screen.completed, Screen.failed, Screen.duplicates)
    row = session.execute(select(*(func.coalesce(func.sum(c), 0) for c in columns))).one()
    return {"completed": int(row[0]), "failed": int(row[1]), "duplicates": int(row[2])}


def _failures(session: Session) -> dict[str, int]:
    cause = case(
        *((Job.error.like(pattern), name) for name, pattern in FAILURE_CAUSES), else_=JOB_ERROR
    )
    failed = (
        select(cause.label("cause"))
        .where(Job.status == JobStatus.FAILED, Job.kind.not_in(CONTAINER_KINDS))
        .subquery()
    )
    counts = dict.fromkeys(CAUSES, 0)
    query = select(failed.c.cause, func.count()).group_by(failed.c.cause)
    counts.update({name: count for name, count in session.execute(query)})
    return counts


__all__ = ["CAUSES", "DURATION_BUCKETS", "Histogram", "JobStats", "SecondsBetween", "StatsStore"]
