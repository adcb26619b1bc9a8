"""Fair scheduling on RQ, against real Redis and PostgreSQL: single dockings go on the
interactive queue, screen chunks on the bulk one, and a worker takes interactive work first."""

from __future__ import annotations

import pytest
from rq import Queue
from sqlalchemy import update

from dockyard.jobs.models import Job
from dockyard.jobs.store import Store
from dockyard.runners.rq.queue import JobQueue, connect, parse_rq_job_id, worker_queue_names
from dockyard.runners.rq.reconcile import Reconciler
from tests.scale.conftest import RedisServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(postgres_url: str):
    store = Store.open(postgres_url)
    yield store
    store.close()


def test_a_worker_takes_single_dockings_before_screen_chunks(store: Store, redis_server):
    screen = store.create_job(kind="screen", name="big screen", params={})
    chunks = []
    for index in range(3):
        chunk = store.create_job(kind="screen_chunk", name=f"chunk {index}", params={})
        with store.session() as session, session.begin():
            session.execute(update(Job).where(Job.id == chunk.id).values(parent_id=screen.id))
        chunks.append(chunk.id)
    docking = store.create_job(kind="dock", name="quick look", params={}).id
    jobs = JobQueue(connect(redis_server.url), "dockyard")
    Reconciler(store, jobs, owner="test", interval=30, retry_backoff=0).run_once(force=True)

    assert worker_queue_names("dockyard") == ["dockyard", "dockyard-bulk"]
    assert jobs.queue.count == 1 and jobs.bulk.count == 3
    assert jobs.depth()["queued"] == 4
    queues = [Queue(name, connection=jobs.connection) for name in worker_queue_names("dockyard")]
    taken = []
    for _ in range(4):
        rq_job, _queue = Queue.dequeue_any(queues, None, connection=jobs.connection)
        taken.append(parse_rq_job_id(rq_job.id)[0])
    assert taken == [docking, *chunks]


def test_the_queues_hold_what_they_were_given(store: Store, redis_server: RedisServer):
    chunk = store.create_job(kind="screen_chunk", name="chunk", params={})
    jobs = JobQueue(connect(redis_server.url), "dockyard")
    assert jobs.enqueue(chunk.id, 0, 60, bulk=True)
    assert jobs.held(store.pending_jobs()) == {chunk.id}
