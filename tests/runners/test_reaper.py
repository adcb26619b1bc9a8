"""The reaper as the servers run it: from the local runner's supervisor loop, and once per
interval however many processes share the database (the RQ reconciler's loop:
``tests/scale/test_reaper_rq.py``)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select

from dockyard import metrics
from dockyard.jobs.models import Job
from dockyard.jobs.store import Store
from dockyard.runners.local import LocalRunner
from dockyard.runners.reaper import Reaper
from tests.jobs.aging import NOW, old_job


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen")
        time.sleep(0.05)


def job_ids(store: Store) -> set[int]:
    with store.session() as session:
        return set(session.scalars(select(Job.id)))


def test_the_local_runners_loop_runs_the_pass(database_url):
    store = Store.open(database_url)
    expired, recent = old_job(store, 100), old_job(store, 1)
    runs = metrics.REAPER_RUNS._value.get()
    freed_before = metrics.REAPER_BYTES_FREED._value.get()
    reaper = Reaper(store, owner="serve", retention_days=90, clock=lambda: NOW)
    runner = LocalRunner(store, database_url, workers=1, reaper=reaper)
    runner.start()
    try:
        wait_for(lambda: reaper.last_pass is not None, "a retention pass")
    finally:
        runner.stop()
    assert job_ids(store) == {recent}
    assert reaper.last_pass["jobs"] == 1 and expired not in job_ids(store)
    assert metrics.REAPER_RUNS._value.get() == runs + 1
    assert metrics.REAPER_BYTES_FREED._value.get() - freed_before == reaper.last_pass["bytes"] > 0
    assert not reaper.tick()  # this interval's turn is taken
    store.close()


def test_only_one_of_two_reapers_runs_each_interval(database_url):
    stores = [Store.open(database_url) for _ in range(2)]
    for days in (100, 200, 300):
        old_job(stores[0], days)
    reapers = [
        Reaper(store, owner=f"server {n}", retention_days=90, interval=3600)
        for n, store in enumerate(stores)
    ]
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def race(reaper: Reaper) -> None:
        start.wait()
        outcomes[reaper.owner] = reaper.run_once(NOW)

    threads = [threading.Thread(target=race, args=(reaper,)) for reaper in reapers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    passes = [freed for freed in outcomes.values() if freed is not None]
    assert len(outcomes) == 2 and len(passes) == 1 and passes[0].jobs == 3

    half_way = NOW + timedelta(minutes=30)
    assert [reaper.run_once(half_way) for reaper in reapers] == [None, None]
    next_interval = NOW + timedelta(hours=1, seconds=1)
    assert sum(reaper.run_once(next_interval) is not None for reaper in reapers) == 1
    for store in stores:
        store.close()
