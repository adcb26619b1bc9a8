"""``GET /metrics``: Prometheus metrics, in its text format.

Two sources. What only this process sees (its event streams, the retention passes it ran) is
counted in :data:`dockyard.metrics.REGISTRY`. What the job database knows (jobs by status,
queue depth, durations, ligands docked, failures by cause) is read from the store at scrape
time by :class:`StoreCollector`, so every server of a fleet reports the same numbers; with
Redis, the RQ queues' lengths too.

Who may read it: anyone in the single-user mode (like the rest of the API), else an admin (a
session or an API token: the counts are of every user's jobs) or a scraper holding
``DOCKYARD_METRICS_TOKEN`` as its bearer token. The router checks that itself, so a scraper
needs no user: the app includes it without the gate.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from dockyard.errors import ForbiddenError, UnavailableError
from dockyard.jobs.stats import DURATION_BUCKETS, Histogram, JobStats
from dockyard.jobs.store import Store
from dockyard.metrics import REGISTRY
from dockyard.runners import Runner
from dockyard.web.auth import bearer_scheme, cookie_scheme, current_viewer
from dockyard.web.deps import RunnerDep, SettingsDep, StoreDep
from dockyard.web.schemas import error_responses

router = APIRouter(tags=["service"])

BOUNDS = (*(floatToGoString(bound) for bound in DURATION_BUCKETS), "+Inf")


class StoreCollector(Collector):
    """The job database's metrics, read when collected (one scrape: a few aggregate queries)."""

    def __init__(self, store: Store, runner: Runner):
        self.store = store
        self.runner = runner

    def describe(self) -> list[Metric]:
        return []  # nothing is read when it is registered, only when it is collected

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "dockyard_store_up", "1 when the job database answered this scrape, else 0."
        )
        try:
            stats = self.store.stats.read()
        except UnavailableError:
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            yield from job_metrics(stats)
        yield from rq_metrics(self.runner)


def job_metrics(stats: JobStats) -> Iterator[Metric]:
    jobs = GaugeMetricFamily(
        "dockyard_jobs",
        "Submitted jobs in the database by kind (dock, screen) and status.",
        labels=["kind", "status"],
    )
    for (kind, status), count in stats.jobs.items():
        jobs.add_metric([kind, status], count)
    yield jobs
    pending = GaugeMetricFamily(
        "dockyard_queue_depth",
        "Pending jobs waiting for a worker: interactive (single dockings) and bulk (screen "
        "chunks), from the database.",
        labels=["queue"],
    )
    for queue, count in stats.pending.items():
        pending.add_metric([queue], count)
    yield pending
    yield _histogram(
        "dockyard_job_duration_seconds",
        "Seconds finished jobs ran (finished_at - started_at), by kind.",
        stats.durations,
    )
    yield _histogram(
        "dockyard_job_queue_wait_seconds",
        "Seconds finished jobs waited to start (started_at of the last attempt - created_at).",
        stats.waits,
    )
    ligands = (
        ("docked", "completed", "Screen ligands docked; rate() gives ligands docked per second."),
        ("failed", "failed", "Screen ligands that could not be docked (unreadable, failed)."),
    )
    for name, key, help_text in ligands:
        counter = CounterMetricFamily(f"dockyard_ligands_{name}", help_text)
        counter.add_metric([], stats.ligands[key])
        yield counter
    failures = CounterMetricFamily(
        "dockyard_job_failures",
        "Failed jobs (dockings, screen chunks and validations) by cause.",
        labels=["cause"],
    )
    for cause, count in stats.failures.items():
        failures.add_metric([cause], count)
    yield failures


def _histogram(name: str, help_text: str, by_kind: dict[str, Histogram]) -> Metric:
    family = HistogramMetricFamily(name, help_text, labels=["kind"])
    for kind, histogram in by_kind.items():
        buckets = list(zip(BOUNDS, histogram.buckets, strict=True))
        family.add_metric([kind], buckets, histogram.total_seconds)
    return family


def rq_metrics(runner: Runner) -> Iterator[Metric]:
    """RQ's queue lengths, read from Redis, when the runner is RQ's and Redis answers."""
    described = runner.describe()
    depth = described.get("depth")
    if not isinstance(depth, dict):
        return
    name = str(described.get("queue", "dockyard"))
    queued = GaugeMetricFamily(
        "dockyard_rq_queue_jobs", "RQ jobs waiting on each Redis queue.", labels=["queue"]
    )
    queued.add_metric([name], depth["queued"] - depth["bulk"])
    queued.add_metric([f"{name}-bulk"], depth["bulk"])
    yield queued


def scraper(
    request: Request,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> None:
    """Let in the metrics token, else an admin (anyone, in the single-user mode)."""
    token = settings.metrics_token
    given = bearer.credentials if bearer is not None else None
    if token and given and secrets.compare_digest(given.encode(), token.encode()):
        return
    if not current_viewer(request, bearer, cookie).is_admin:
        raise ForbiddenError(
            "Metrics count every user's jobs: only an admin, or a scraper with "
            "DOCKYARD_METRICS_TOKEN, may read them."
        )


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(scraper)],
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **error_responses(401, 403),
    },
)
def metrics(store: StoreDep, runner: RunnerDep) -> Response:
    """Prometheus metrics (text format): this process's own, then the job database's."""
    jobs = CollectorRegistry(auto_describe=False)
    jobs.register(StoreCollector(store, runner))
    body = generate_latest(REGISTRY) + generate_latest(jobs)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
