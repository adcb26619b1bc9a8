"""``GET /metrics`` over real HTTP, on SQLite and PostgreSQL, parsed by prometheus-client's own
parser: the numbers are the store's, whoever asks may, and the stream gauge follows streams.

The jobs are real: dockings and a screen run by the server's runner, a job that fails in it,
and failures written by the supervisor's own functions; pending ones are made once the runner
is stopped, so they stay pending.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from dockyard.config import Settings
from dockyard.jobs.models import FINISHED_STATUSES, Job, JobStatus
from dockyard.jobs.stats import DURATION_BUCKETS
from dockyard.runners.supervise import record_exit
from tests.conftest import SMALL_BOX, LiveServer
from tests.scale.conftest import RedisServer

METRICS_TOKEN = "scraper-token-0123456789abcdef"
LIBRARY = b"NC(=O)c1ccccc1 benzamide\nOc1ccccc1 phenol\nC1CC(=O not-a-molecule\n"


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: httpx.Client, **headers: str) -> Samples:
    """Every sample of ``/metrics``, by (sample name, sorted labels)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, tuple(sorted(labels.items()))]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def seconds(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds())


def test_the_metrics_are_the_stores_truth(server: LiveServer, small_job, receptor_pdbqt: bytes):
    store = server.store
    fields, files = small_job()
    docked = server.submit(files, **fields).json()["job_id"]
    screen = server.client.post(
        "/api/screens",
        data={**SMALL_BOX, "exhaustiveness": "1", "num_poses": "2", "seed": "3"},
        files={"receptor": ("1iep.pdbqt", receptor_pdbqt), "library": ("lib.smi", LIBRARY)},
    ).json()["job_id"]
    broken = store.create_job(kind="dock", name="no parameters", params={}).id
    server.app.state.runner.submitted(broken)
    assert server.wait(docked)["status"] == "completed"
    assert server.wait(screen, timeout=240)["status"] == "completed"
    assert server.wait(broken)["status"] == "failed"

    server.app.state.runner.stop()  # from here on nothing runs: pending jobs stay pending
    for index in range(2):
        store.create_job(kind="dock", name=f"waiting {index}", params={})
    store.cancel_job(store.create_job(kind="dock", name="cancelled", params={}).id)
    exited = store.create_job(kind="dock", name="exits", params={})
    record_exit(store, store.claim(exited.id, "test", 60), 3)
    killed = store.create_job(kind="dock", name="killed", params={}, max_attempts=1)
    record_exit(store, store.claim(killed.id, "test", 60), -signal.SIGKILL)

    samples = scrape(server.client)
    with store.session() as session:
        jobs = list(session.scalars(select(Job)))
    assert value(samples, "dockyard_store_up") == 1
    top = [job for job in jobs if job.parent_id is None]
    for kind in ("dock", "screen"):
        for status in JobStatus:
            truth = sum(1 for job in top if (job.kind, job.status) == (kind, status))
            assert value(samples, "dockyard_jobs", kind=kind, status=status.value) == truth
    assert value(samples, "dockyard_jobs", kind="dock", status="pending") == 2
    assert value(samples, "dockyard_jobs", kind="dock", status="failed") == 3
    assert value(samples, "dockyard_queue_depth", queue="interactive") == 2
    assert value(samples, "dockyard_queue_depth", queue="bulk") == 0

    for kind, expected in (("dock", 4), ("screen", 1)):  # the cancelled one never started
        finished = [
            job
            for job in jobs
            if job.kind == kind and job.status in FINISHED_STATUSES and job.started_at is not None
        ]
        assert len(finished) == expected
        ran = [seconds(job.finished_at, job.started_at) for job in finished]
        waited = [seconds(job.started_at, job.created_at) for job in finished]
        for name, durations in (
            ("dockyard_job_duration_seconds", ran),
            ("dockyard_job_queue_wait_seconds", waited),
        ):
            buckets = [
                value(samples, f"{name}_bucket", kind=kind, le=str(float(bound)))
                for bound in DURATION_BUCKETS
            ]
            infinite = value(samples, f"{name}_bucket", kind=kind, le="+Inf")
            assert buckets == [sum(d <= bound for d in durations) for bound in DURATION_BUCKETS]
            assert buckets == sorted(buckets) and buckets[-1] <= infinite
            assert infinite == value(samples, f"{name}_count", kind=kind) == len(finished)
            total = value(samples, f"{name}_sum", kind=kind)
            assert total == pytest.approx(sum(durations), abs=0.01)

    counts = server.client.get(f"/api/screens/{screen}").json()["counts"]
    assert counts["completed"] >= 2 and counts["failed"] >= 1
    assert value(samples, "dockyard_ligands_docked_total") == counts["completed"]
    assert value(samples, "dockyard_ligands_failed_total") == counts["failed"]

    assert store.get_job(broken).error == "center_x is required."  # the job's own error
    failures = {
        dict(labels)["cause"]: count
        for (name, labels), count in samples.items()
        if name == "dockyard_job_failures_total"
    }
    assert failures == {
        "time_limit": 0,
        "retries_exhausted": 1,
        "process_exit": 1,
        "stopped": 0,
        "unexpected": 0,
        "job_error": 1,
    }
    assert value(samples, "dockyard_sse_connections") >= 0
    assert ("dockyard_reaper_runs_total", ()) in samples
    assert ("dockyard_reaper_freed_bytes_total", ()) in samples


@pytest.fixture
def guarded(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, metrics_token=METRICS_TOKEN)
    with LiveServer(settings) as live:
        yield live


def test_metrics_are_open_alone_then_for_admins_and_the_scraper_token(guarded: LiveServer):
    anonymous = guarded.client
    assert value(scrape(anonymous), "dockyard_jobs", kind="dock", status="pending") == 0
    accounts = guarded.store.accounts
    admin = accounts.add_user("admin", "pw-admin", role="admin")
    member = accounts.add_user("member", "pw-member")
    _, admin_token = accounts.create_token(admin.id, "prometheus")
    _, member_token = accounts.create_token(member.id, "laptop")

    refused = anonymous.get("/metrics")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "not_authenticated"
    assert refused.headers["www-authenticate"] == "Bearer"
    wrong = anonymous.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "not_authenticated"
    members = anonymous.get("/metrics", headers={"Authorization": f"Bearer {member_token}"})
    assert members.status_code == 403 and members.json()["error"]["code"] == "forbidden"
    page = anonymous.get("/metrics", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/metrics"

    for token in (admin_token, METRICS_TOKEN):
        samples = scrape(anonymous, Authorization=f"Bearer {token}")
        assert value(samples, "dockyard_store_up") == 1
    # The scraper's token reads metrics, nothing else.
    jobs = anonymous.get("/api/jobs", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert jobs.status_code == 401


def test_the_stream_gauge_follows_an_open_stream(server: LiveServer):
    def streams() -> float:
        return value(scrape(server.client), "dockyard_sse_connections")

    before = streams()
    with (
        httpx.Client(base_url=server.url, timeout=30) as listener,
        listener.stream("GET", "/api/events") as stream,
    ):
        assert stream.status_code == 200
        lines = stream.iter_lines()  # kept: an iterator dropped would close the response
        assert next(lines).startswith("retry:")
        wait_for(lambda: streams() == before + 1, "the open stream counted")
    wait_for(lambda: streams() == before, "the closed stream no longer counted")


@pytest.mark.postgres
def test_the_rq_queue_lengths_are_reported(tmp_path: Path, postgres_url: str, small_job) -> None:
    redis = RedisServer(tmp_path).start()
    try:
        settings = Settings(
            data_dir=tmp_path,
            database_url=postgres_url,
            redis_url=redis.url,
            reconcile_seconds=3600,
        )
        with LiveServer(settings) as live:  # no worker: what is submitted stays queued
            fields, files = small_job()
            for _ in range(2):
                assert live.submit(files, **fields).status_code == 201
            samples = scrape(live.client)
    finally:
        redis.stop()
    assert value(samples, "dockyard_rq_queue_jobs", queue="dockyard") == 2
    assert value(samples, "dockyard_rq_queue_jobs", queue="dockyard-bulk") == 0
    assert value(samples, "dockyard_queue_depth", queue="interactive") == 2
    assert value(samples, "dockyard_jobs", kind="dock", status="pending") == 2


def test_requests_are_counted_by_route_template_method_and_status(server: LiveServer):
    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    before = scrape(server.client)
    assert server.client.get("/api/jobs/999999").status_code == 404
    assert server.client.request("BREW", "/api/jobs").status_code == 405
    assert server.client.get("/no/such/page").status_code == 404
    after = scrape(server.client)

    requests = "dockyard_http_requests_total"
    assert delta(requests, method="GET", route="/api/jobs/{job_id}", status="404") == 1
    assert delta(requests, method="other", route="/api/jobs", status="405") == 1
    assert delta(requests, method="GET", route="unmatched", status="404") == 1
    assert delta(requests, method="GET", route="/metrics", status="200") == 1  # the first scrape
    timed = "dockyard_http_request_duration_seconds_count"
    assert delta(timed, route="/api/jobs/{job_id}") == 1
