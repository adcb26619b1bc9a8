"""With Redis, the API's reconciler gives the reaper its ticks (real Redis and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from dockyard.jobs.models import Job
from dockyard.jobs.store import Store
from dockyard.runners.reaper import Reaper
from dockyard.runners.rq.queue import JobQueue, connect
from dockyard.runners.rq.reconcile import Reconciler
from tests.jobs.aging import NOW, old_job
from tests.runners.test_reaper import wait_for


def test_the_reconcilers_loop_runs_the_pass(postgres_url, redis_server):
    store = Store.open(postgres_url)
    old_job(store, 100)
    kept = old_job(store, 1)
    reaper = Reaper(store, owner="api", retention_days=90, clock=lambda: NOW)
    reconciler = Reconciler(
        store,
        JobQueue(connect(redis_server.url), "test"),
        owner="api",
        interval=60,
        retry_backoff=0,
        reaper=reaper,
    )
    reconciler.start()
    try:
        wait_for(lambda: reaper.last_pass is not None, "a retention pass")
    finally:
        reconciler.stop()
    with store.session() as session:
        assert set(session.scalars(select(Job.id))) == {kept}
    assert reaper.last_pass["jobs"] == 1
    store.close()
