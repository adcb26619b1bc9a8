"""PostgreSQL stopped under a running server and started again: 503s meanwhile, then every
job completes, once, on its first attempt — with the local runner and with RQ workers."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from dockyard.config import Settings
from dockyard.errors import UnavailableError
from dockyard.jobs.store import Store
from tests.conftest import LiveServer
from tests.scale.conftest import MEDIUM_JOB, assert_each_completed_once, wait_finished
from tests.scale.test_failures import docking_on

pytestmark = pytest.mark.postgres

OUTAGE_SECONDS = 4.0
"""Long enough for the job inside Vina to finish docking while the database is down."""


class Follower:
    """``/api/events`` followed over one connection in a thread: each job's last status."""

    def __init__(self, url: str):
        self.url = url
        self.statuses: dict[int, str] = {}
        self.broken: Exception | None = None
        self.client = httpx.Client(timeout=httpx.Timeout(10, read=60))
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self) -> None:
        try:
            with self.client.stream("GET", f"{self.url}/api/events") as stream:
                for line in stream.iter_lines():
                    if line.startswith("data:"):
                        job = json.loads(line.removeprefix("data:"))
                        self.statuses[job["id"]] = job["status"]
        except Exception as error:
            self.broken = error

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *exc: object) -> None:
        """Hang up, so the server need not wait for the stream to end when it stops."""
        self.client.close()
        self.thread.join(timeout=10)

    def assert_saw_completed(self, ids: list[int]) -> None:
        """The same stream, still open, told of every job's completion (after the outage too)."""
        deadline = time.monotonic() + 10
        while any(self.statuses.get(job_id) != "completed" for job_id in ids):
            assert self.broken is None and self.thread.is_alive(), self.broken
            assert time.monotonic() < deadline, self.statuses
            time.sleep(0.1)


def assert_unavailable(live: LiveServer, job_id: int, submission: tuple[dict, dict]) -> None:
    """Each kind of request answers at once with 503, ``Retry-After`` and the error's JSON."""
    fields, files = submission
    requests = {
        "list": lambda: live.client.get("/api/jobs"),
        "read": lambda: live.client.get(f"/api/jobs/{job_id}"),
        "cancel": lambda: live.client.post(f"/api/jobs/{job_id + 1000}/cancel"),
        "submit": lambda: live.submit(files, **fields),
    }
    for kind, request in requests.items():
        began = time.monotonic()
        response = request()
        assert time.monotonic() - began < 10, f"{kind} hung"
        assert response.status_code == 503, (kind, response.status_code, response.text)
        assert int(response.headers["Retry-After"]) > 0, kind
        error = response.json()["error"]
        assert error["code"] == "database_unavailable", (kind, error)
        assert "does not answer" in error["message"] and "try again" in error["message"], error
    health = live.client.get("/api/health")
    assert health.status_code == 503 and health.json()["store"]["ok"] is False


def submit_and_restart(live: LiveServer, postgres, small_job) -> list[int]:
    """Submit six jobs, stop PostgreSQL while the first one docks, check the 503s, start it."""
    fields, files = small_job()
    ids = [live.submit(files, **{**fields, **MEDIUM_JOB}).json()["job_id"]]
    ids += [live.submit(files, **fields).json()["job_id"] for _ in range(5)]
    docking_on(live.client, ids[0])
    try:
        postgres.stop()
        assert_unavailable(live, ids[0], (fields, files))
        time.sleep(OUTAGE_SECONDS)
        assert_unavailable(live, ids[0], (fields, files))
    finally:
        if not postgres.running():
            postgres.start()
    ids.append(live.submit(files, **fields).json()["job_id"])  # the API is back by itself
    return ids


def assert_each_ran_once(live: LiveServer, ids: list[int], follower: Follower) -> None:
    jobs = wait_finished(live.client, ids, timeout=180)
    follower.assert_saw_completed(ids)
    assert [job["attempt"] for job in jobs] == [1] * len(ids), [
        (job["id"], job["attempt"], job["stage"]) for job in jobs
    ]
    assert_each_completed_once(live.store, ids)
    assert live.client.get("/api/health").status_code == 200


def test_the_local_runner_rides_out_a_postgres_restart(private_postgres, tmp_path, small_job):
    settings = Settings(data_dir=tmp_path, database_url=private_postgres.url, workers=2)
    with LiveServer(settings) as live, Follower(live.url) as follower:
        ids = submit_and_restart(live, private_postgres, small_job)
        assert_each_ran_once(live, ids, follower)


def test_rq_workers_ride_out_a_postgres_restart(
    private_postgres, tmp_path, redis_server, start_worker, small_job
):
    settings = Settings(
        data_dir=tmp_path,
        database_url=private_postgres.url,
        redis_url=redis_server.url,
        lease_seconds=20,  # longer than the outage: nobody may take the job meanwhile
        reconcile_seconds=1,
        retry_backoff=0.5,
    )
    for worker in [start_worker(settings), start_worker(settings)]:
        worker.wait_registered(redis_server)
    with LiveServer(settings) as live, Follower(live.url) as follower:
        ids = submit_and_restart(live, private_postgres, small_job)
        assert_each_ran_once(live, ids, follower)


def test_a_server_started_before_its_database_waits_for_it(private_postgres, tmp_path):
    private_postgres.stop()
    starter = threading.Timer(3.0, private_postgres.start)
    starter.start()
    settings = Settings(data_dir=tmp_path, database_url=private_postgres.url, workers=1)
    try:
        with LiveServer(settings) as live:
            assert live.client.get("/api/health").status_code == 200
    finally:
        starter.join()


def test_a_database_that_never_answers_stops_the_start_saying_so(private_postgres, tmp_path):
    private_postgres.stop()
    with pytest.raises(UnavailableError, match="does not answer"):
        Store.open(private_postgres.url, wait_seconds=1.0)
