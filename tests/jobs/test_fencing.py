"""The fence on every worker write: only the claim that holds a job may write to it.

Real databases: SQLite in ``tmp_path`` and a fresh PostgreSQL database per test.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from dockyard.jobs.models import Job, JobStatus, LigandStatus, Screen, ScreenLigand, utcnow
from dockyard.jobs.screen_store import LigandOutcome
from dockyard.jobs.store import Claim, ClaimLost, Store, StoredFile, fenced


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fencing.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = Store.open(url)
    yield opened
    opened.close()


def row(store: Store, job_id: int) -> dict:
    """The columns a worker's write could change."""
    job = store.get_job(job_id)
    columns = ("status", "stage", "progress", "attempt", "worker", "results", "lease_expires_at")
    return {name: getattr(job, name) for name in columns}


def taken_over(store: Store) -> tuple[Claim, Claim]:
    """A job whose first worker's lease ran out: it was queued again and claimed by another."""
    job = store.create_job(kind="dock", name="contested", params={})
    first = store.claim(job.id, "worker-a", lease_seconds=1)
    assert first is not None
    expired = [claim for claim, _ in store.expired_claims(utcnow() + timedelta(seconds=5))]
    assert expired == [first]
    assert store.retry_or_fail(first, "lease expired") == JobStatus.PENDING
    second = store.claim(job.id, "worker-b", lease_seconds=60)
    assert second is not None
    return first, second


def test_a_write_with_the_current_claim_succeeds(store):
    job = store.create_job(kind="dock", name="held", params={})
    claim = store.claim(job.id, "worker-a", lease_seconds=60)
    with store.session() as session, session.begin():
        fenced(session, claim, stage="docking", progress=0.5)
    assert row(store, job.id)["stage"] == "docking"
    assert row(store, job.id)["progress"] == 0.5
    assert store.set_progress(claim, "writing poses", 0.9)
    assert store.complete(
        claim, results={"best_score": -7.0}, provenance={}, files=[StoredFile("poses.sdf", b"x")]
    )
    assert row(store, job.id)["status"] == JobStatus.COMPLETED
    assert store.read_file(job.id, "poses.sdf").content == b"x"


def test_a_stale_claim_raises_claim_lost_and_changes_nothing(store):
    stale, current = taken_over(store)
    assert (stale.job_id, stale.attempt + 1) == (current.job_id, current.attempt)
    before = row(store, stale.job_id)
    with pytest.raises(ClaimLost), store.session() as session, session.begin():
        session.add(Job(kind="dock", name="written in the same transaction", params={}))
        fenced(session, stale, stage="late", progress=0.99)
    assert row(store, stale.job_id) == before
    assert [job.name for job in store.list_jobs()] == ["contested"]


def test_the_store_ignores_every_write_of_a_stale_claim(store):
    stale, current = taken_over(store)
    before = row(store, stale.job_id)
    assert not store.set_progress(stale, "late", 0.99)
    assert not store.advance_progress(stale, "starting", 0.99)
    assert not store.complete(
        stale, results={"best_score": -1.0}, provenance={}, files=[StoredFile("poses.sdf", b"x")]
    )
    assert not store.fail(stale, "late failure")
    assert store.retry_or_fail(stale, "late death") is None
    assert not store.release(stale)
    store.set_worker(stale, "worker-a:again")
    store.renew_leases([stale], lease_seconds=3600)
    assert row(store, stale.job_id) == before
    assert store.list_files(stale.job_id) == []
    assert store.set_progress(current, "docking", 0.5)


def test_a_cancelled_job_refuses_its_worker(store):
    job = store.create_job(kind="dock", name="cancelled", params={})
    claim = store.claim(job.id, "worker-a", lease_seconds=60)
    store.cancel_job(job.id)
    with pytest.raises(ClaimLost), store.session() as session, session.begin():
        fenced(session, claim, stage="late")
    assert row(store, job.id)["status"] == JobStatus.CANCELLED
    assert row(store, job.id)["stage"] == "cancelled"


@dataclass(frozen=True)
class Entry:
    """A library entry as the library reader gives it."""

    index: int
    name: str
    source: str
    format: str = "smiles"


def test_a_ligand_result_of_a_stale_chunk_claim_is_not_written(store):
    screen = store.screens.create(
        name="two ligands",
        params={},
        files=[],
        entries=[Entry(0, "ethanol", "CCO"), Entry(1, "propanol", "CCCO")],
        chunk_size=lambda total: total,
        max_attempts=3,
        time_limit=60.0,
    )
    (chunk,) = store.list_jobs(parent_id=screen.id)
    stale = store.claim(chunk.id, "worker-a", lease_seconds=60)
    done = LigandOutcome({"status": LigandStatus.COMPLETED, "score": -3.0}, "docked")
    store.screens.record_ligand(stale, screen.id, 0, done)
    assert store.retry_or_fail(stale, "killed") == JobStatus.PENDING
    current = store.claim(chunk.id, "worker-b", lease_seconds=60)

    with pytest.raises(ClaimLost):
        store.screens.record_ligand(stale, screen.id, 1, done)
    store.screens.record_ligand(current, screen.id, 0, done)  # already written: left alone
    with store.session() as session:
        statuses = [ligand.status for ligand in session.query(ScreenLigand).order_by("idx")]
        counts = session.get(Screen, screen.id)
    assert statuses == [LigandStatus.COMPLETED, LigandStatus.PENDING]
    assert (counts.completed, counts.best_score) == (1, -3.0)


def race(store: Store, job_id: int, claimers: int) -> list[Claim | None]:
    """What each of ``claimers`` threads got when they all claimed the job at once."""
    start = threading.Barrier(claimers)
    got: list[Claim | None] = [None] * claimers
    errors: list[BaseException] = []

    def claim(slot: int) -> None:
        try:
            start.wait(timeout=30)
            got[slot] = store.claim(job_id, f"worker-{slot}", lease_seconds=60)
        except BaseException as error:  # reported in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=claim, args=(slot,)) for slot in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return got


def test_of_concurrent_claimers_exactly_one_wins(store):
    for number in range(8):
        job = store.create_job(kind="dock", name=f"race {number}", params={})
        got = race(store, job.id, claimers=4)
        winners = [slot for slot, claim in enumerate(got) if claim is not None]
        assert len(winners) == 1
        assert got[winners[0]] == Claim(job.id, 1, job.time_limit)
        assert row(store, job.id)["worker"] == f"worker-{winners[0]}"
        assert row(store, job.id)["attempt"] == 1
