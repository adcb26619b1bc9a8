"""The queue side against real Redis and PostgreSQL: idempotent enqueueing, reconciling, health."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from rq.job import Job as RQJob
from sqlalchemy import func, select, update

from dockyard.config import Settings
from dockyard.jobs.models import Job, JobFile, JobStatus, utcnow
from dockyard.jobs.store import Store, StoredFile
from dockyard.runners.rq.horse import perform
from dockyard.runners.rq.queue import JobQueue, connect, parse_rq_job_id, rq_job_id
from dockyard.runners.rq.reconcile import Reconciler, backoff
from tests.conftest import LiveServer
from tests.scale.conftest import RedisServer, wait_until

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(postgres_url: str):
    store = Store.open(postgres_url)
    yield store
    store.close()


def new_jobs(store: Store, count: int, time_limit: float = 3600.0) -> list[int]:
    return [
        store.create_job(kind="dock", name=f"j{i}", params={}, time_limit=time_limit).id
        for i in range(count)
    ]


def reconciler(store: Store, redis: RedisServer, owner: str, backoff_base: float = 0.0):
    jobs = JobQueue(connect(redis.url), "dockyard")
    return Reconciler(store, jobs, owner=owner, interval=30, retry_backoff=backoff_base)


def test_rq_job_ids_name_the_attempt():
    assert rq_job_id(12, 3) == "dockyard-12-3"
    assert parse_rq_job_id("dockyard-12-3") == (12, 3)
    assert parse_rq_job_id("something-else") is None
    assert [backoff(n, 10) for n in range(5)] == [0, 10, 20, 40, 80]
    assert backoff(30, 10) == 600


def test_enqueue_once_however_many_try_and_again_after_a_flush(store, redis_server):
    ids = new_jobs(store, 3, time_limit=50)
    queue = JobQueue(connect(redis_server.url), "dockyard")
    assert [queue.enqueue(job_id, 0, 50) for job_id in ids] == [True] * 3
    assert [queue.enqueue(job_id, 0, 50) for job_id in ids] == [False] * 3

    rq_job = RQJob.fetch(rq_job_id(ids[0], 1), connection=queue.connection)
    assert rq_job.timeout == 50 + 120  # explicit, never RQ's default of 180 s
    assert rq_job.func_name == "dockyard.runners.rq.horse.perform"
    assert rq_job.args == (ids[0],)

    first, second = reconciler(store, redis_server, "a"), reconciler(store, redis_server, "b")
    assert first.run_once()["enqueued"] == 0  # the queue holds them all
    assert second.run_once() is None  # not its turn this interval
    assert second.run_once(force=True)["enqueued"] == 0
    assert queue.queue.count == 3

    redis_server.client().flushall()
    passes = [first.run_once(force=True), second.run_once(force=True)]
    assert sorted(p["enqueued"] for p in passes) == [0, 3]
    assert sorted(queue.queue.get_job_ids()) == sorted(rq_job_id(i, 1) for i in ids)


def test_queued_status_counts_only_while_the_list_holds_the_job(store, redis_server):
    [job_id] = new_jobs(store, 1)
    queue = JobQueue(connect(redis_server.url), "dockyard")
    queue.enqueue(job_id, 0, 3600)
    client = redis_server.client()
    client.delete(queue.queue.key, f"dockyard:enqueued:{rq_job_id(job_id, 1)}")  # list lost
    assert reconciler(store, redis_server, "a").run_once(force=True)["enqueued"] == 1
    assert queue.queue.get_job_ids() == [rq_job_id(job_id, 1)]


def test_expired_lease_is_retried_after_its_backoff(store, redis_server):
    [job_id] = new_jobs(store, 1)
    claim = store.claim(job_id, "gone-host:1", lease_seconds=0.01)
    time.sleep(0.05)
    slow = reconciler(store, redis_server, "a", backoff_base=60)
    report = slow.run_once(force=True)
    assert report["expired_leases"] == 1 and report["waiting_for_backoff"] == 1
    job = store.get_job(job_id)
    assert (job.status, job.attempt) == (JobStatus.PENDING, 1)
    assert "gone-host:1 stopped renewing its lease" in job.stage
    assert JobQueue(connect(redis_server.url)).queue.count == 0

    # Once the back-off has passed it is enqueued as attempt 2.
    with store.session() as session, session.begin():
        session.execute(
            update(Job).where(Job.id == job_id).values(updated_at=utcnow() - timedelta(hours=1))
        )
    assert slow.run_once(force=True)["enqueued"] == 1
    assert JobQueue(connect(redis_server.url)).queue.get_job_ids() == [rq_job_id(job_id, 2)]
    assert store.retry_or_fail(claim, "late") is None  # the old attempt can write nothing


def test_a_result_written_twice_leaves_one(store):
    [job_id] = new_jobs(store, 1)
    claim = store.claim(job_id, "w:1", lease_seconds=30)
    files = [StoredFile("poses.sdf", b"first")]
    assert store.complete(claim, results={"best_score": -5}, provenance={}, files=files)
    again = [StoredFile("poses.sdf", b"second")]
    assert not store.complete(claim, results={"best_score": -9}, provenance={}, files=again)
    with store.session() as session:
        count = session.scalar(select(func.count()).where(JobFile.job_id == job_id))
    assert count == 1
    assert store.read_file(job_id, "poses.sdf").content == b"first"
    assert store.get_job(job_id).results == {"best_score": -5}


def test_a_duplicate_rq_job_does_nothing(store, redis_server, monkeypatch):
    """An RQ job for a job that is no longer pending (ran already, or cancelled) is a no-op."""
    [job_id] = new_jobs(store, 1)
    store.cancel_job(job_id)
    monkeypatch.setenv("DOCKYARD_DATABASE_URL", store.engine.url.render_as_string(False))
    monkeypatch.setattr("dockyard.runners.rq.horse._context", None)
    assert perform(job_id).startswith("not pending")
    assert store.get_job(job_id).status == JobStatus.CANCELLED


def test_submitting_and_health_while_redis_is_down(tmp_path, postgres_url, small_job):
    redis = RedisServer(tmp_path)  # not started yet: nothing listens on its port
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_url, redis_url=redis.url, reconcile_seconds=0.5
    )
    with LiveServer(settings) as live:
        fields, files = small_job()
        started = time.monotonic()
        response = live.submit(files, **fields)
        assert response.status_code == 201, response.text
        assert time.monotonic() - started < 5
        job_id = response.json()["job_id"]

        health = live.client.get("/api/health")
        assert health.status_code == 503
        assert health.json()["store"]["ok"] is True
        assert health.json()["queue"]["alive"] is False

        workers = live.client.get("/api/workers").json()
        assert workers["queue"]["reachable"] is False
        assert workers["jobs"]["pending"] == 1
        page = live.client.get("/status")
        assert page.status_code == 200 and "The queue cannot be reached" in page.text

        redis.start()
        try:
            # The reconciler enqueues what was submitted while Redis was away.
            wait_until(lambda: JobQueue(redis.client()).queue.count == 1, 10, "the job queued")
            assert JobQueue(redis.client()).queue.get_job_ids() == [rq_job_id(job_id, 1)]
            assert live.client.get("/api/health").status_code == 200
            assert live.client.get("/api/workers").json()["queue"]["queued"] == 1
        finally:
            redis.stop()


def test_workers_endpoint_with_the_local_runner(tmp_path, small_job):
    settings = Settings(data_dir=tmp_path, workers=1)
    with LiveServer(settings) as live:
        fields, files = small_job()
        job_id = live.submit(files, **fields).json()["job_id"]
        live.wait(job_id)
        body = live.client.get("/api/workers").json()
        assert body["queue"]["runner"] == "local"
        assert [worker["state"] for worker in body["workers"]] == ["idle"]
        assert body["jobs"]["completed"] == 1
        page = live.client.get("/status")
        assert page.status_code == 200
        assert 'aria-current="page">Status' in page.text


def test_worker_needs_redis_and_migrate_brings_the_schema_up(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from dockyard.cli import app

    monkeypatch.delenv("DOCKYARD_REDIS_URL", raising=False)
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2 and "DOCKYARD_REDIS_URL" in result.output

    database = tmp_path / "fresh.db"
    monkeypatch.setenv("DOCKYARD_DATABASE_URL", f"sqlite:///{database}")
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    store = Store.open(f"sqlite:///{database}", migrate_schema=False)
    try:
        assert store.count_jobs()["pending"] == 0  # the jobs table is there
    finally:
        store.close()
