"""Retention on SQLite and PostgreSQL: what a pass purges, what it never touches, compaction,
batches and dry runs (the store's queries, driven with an explicit clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dockyard.errors import NotFoundError
from dockyard.jobs import screen_results
from dockyard.jobs.models import Job, JobFile, JobStatus, Screen, ScreenLigand
from dockyard.jobs.store import Store
from dockyard.runners.reaper import Reaper
from tests.jobs.aging import NOW, POSES, age, old_job, old_screen


@pytest.fixture
def store(database_url):
    store = Store.open(database_url)
    yield store
    store.close()


def ids(store: Store) -> set[int]:
    with store.session() as session:
        return set(session.scalars(select(Job.id).where(Job.parent_id.is_(None))))


def rows(store: Store, model) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def reaper(store: Store, **settings) -> Reaper:
    return Reaper(store, owner="test", clock=lambda: NOW, **settings)


def test_expired_jobs_go_with_their_files_and_the_rest_stays(store):
    expired = old_job(store, 100)
    recent = old_job(store, 10)
    failed = old_job(store, 100, status=JobStatus.FAILED)
    cancelled = old_job(store, 100, status=JobStatus.CANCELLED)
    pending = old_job(store, 100, status=JobStatus.PENDING)
    running = old_job(store, 100, status=JobStatus.RUNNING)
    pinned = old_job(store, 100)
    store.retention.set_keep(pinned, True)
    files_before = rows(store, JobFile)

    freed = reaper(store, retention_days=90).run_pass()

    assert ids(store) == {recent, pending, running, pinned}
    assert freed.jobs == 3
    assert freed.files == 6 and rows(store, JobFile) == files_before - 6
    assert freed.bytes >= 3 * 2 * 4000
    for job_id in (expired, failed, cancelled):
        with pytest.raises(NotFoundError):
            store.read_file(job_id, "receptor.pdbqt")
    assert store.read_file(pinned, "poses.sdf").content == b"x" * 4000


def test_retention_off_purges_nothing(store):
    old_job(store, 10_000)
    assert reaper(store, retention_days=0).run_pass().jobs == 0
    assert len(ids(store)) == 1


def test_a_users_own_retention_wins_over_the_servers(store):
    short = store.accounts.add_user("short", "pw")
    forever = store.accounts.add_user("forever", "pw")
    default = store.accounts.add_user("default", "pw")
    store.accounts.update_user(short.id, retention_days=5)
    store.accounts.update_user(forever.id, retention_days=0)
    short_job = old_job(store, 7, owner_id=short.id)
    forever_job = old_job(store, 10_000, owner_id=forever.id)
    default_young = old_job(store, 7, owner_id=default.id)
    default_old = old_job(store, 40, owner_id=default.id)
    ownerless = old_job(store, 40)

    reaper(store, retention_days=30).run_pass()

    assert ids(store) == {forever_job, default_young}
    assert short_job not in ids(store) and default_old not in ids(store)
    assert ownerless not in ids(store)
    job = store.get_job(default_young)
    assert store.retention.expires_at(job, 30) == job.finished_at + timedelta(days=30)
    assert store.retention.expires_at(store.get_job(forever_job), 30) is None


def test_expires_at_is_none_while_running_and_when_pinned(store):
    running = store.get_job(old_job(store, 1, status=JobStatus.RUNNING))
    assert store.retention.expires_at(running, 30) is None
    done = old_job(store, 1)
    store.retention.set_keep(done, True)
    assert store.retention.expires_at(store.get_job(done), 30) is None
    store.retention.set_keep(done, False)
    job = store.get_job(done)
    assert store.retention.expires_at(job, 30) == job.finished_at + timedelta(days=30)


def test_a_purged_screen_takes_its_chunks_ligands_and_files(store):
    screen = old_screen(store, 100, 120)
    kept = old_screen(store, 1, 10)
    assert rows(store, ScreenLigand) == 130

    freed = reaper(store, retention_days=90).run_pass()

    assert ids(store) == {kept}
    assert freed.jobs == 1 and freed.ligands == 120
    assert freed.bytes >= 120 * len(POSES)
    assert rows(store, ScreenLigand) == 10
    with store.session() as session:
        assert session.scalar(select(func.count()).where(Job.parent_id == screen)) == 0
        assert session.get(Screen, screen) is None


def test_small_batches_purge_everything_across_them(store, monkeypatch):
    monkeypatch.setattr("dockyard.jobs.retention.LIGAND_BATCH", 7)
    jobs = [old_job(store, 100 + n, size=100) for n in range(23)]
    screen = old_screen(store, 100, 30)
    batches = []
    retention = store.retention
    freed = retention.purge(
        retention.expired(NOW, 90), batch=4, progress=lambda part: batches.append(part.jobs)
    )
    assert freed.jobs == 24 and freed.ligands == 30
    assert batches == [4, 4, 4, 4, 4, 4]
    assert not ids(store) & {*jobs, screen}
    assert rows(store, ScreenLigand) == 0 and rows(store, JobFile) == 0


def test_a_dry_run_measures_and_changes_nothing(store):
    for days in (100, 200, 300):
        old_job(store, days)
    old_screen(store, 100, 20)
    before = (ids(store), rows(store, JobFile), rows(store, ScreenLigand))
    retention = store.retention
    dry = retention.purge(
        retention.finished_before(NOW - timedelta(days=30)), batch=2, dry_run=True
    )
    assert (ids(store), rows(store, JobFile), rows(store, ScreenLigand)) == before
    real = retention.purge(retention.finished_before(NOW - timedelta(days=30)), batch=2)
    assert dry == real
    assert real.jobs == 4 and real.ligands == 20


def test_compaction_keeps_every_score_and_the_poses_of_the_best(store):
    screen = old_screen(store, 40, 120)
    young = old_screen(store, 5, 10)
    pinned = old_screen(store, 40, 10)
    store.retention.set_keep(pinned, True)

    freed = reaper(store, compact_days=30, compact_keep=6).run_pass()

    assert freed.screens_compacted == 1 and freed.poses == 114
    assert freed.bytes == 114 * len(POSES)
    with store.session() as session:
        ligands = list(
            session.scalars(select(ScreenLigand).where(ScreenLigand.screen_id == screen))
        )
        assert session.get(Job, screen).compacted_at == NOW
        assert session.get(Job, young).compacted_at is None
    assert len(ligands) == 120 and all(ligand.score is not None for ligand in ligands)
    with_poses = sorted(ligand.index for ligand in ligands if ligand.poses_sdf)
    assert with_poses == [47, 48, 49, 97, 98, 99]  # the six best scores, -4.9 to -4.7
    dropped = screen_results.get_ligand(store, screen, 0)
    assert screen_results.poses_removed(dropped)
    with pytest.raises(NotFoundError) as refused:
        screen_results.ligand_poses(dropped)
    assert refused.value.code == "poses_removed"
    assert screen_results.ligand_poses(screen_results.get_ligand(store, screen, 49)) == POSES
    assert reaper(store, compact_days=30, compact_keep=6).run_pass().screens_compacted == 0


def test_a_job_made_pending_again_is_not_purged(store):
    job = old_job(store, 100)
    age(store, job, 100, JobStatus.PENDING)
    assert reaper(store, retention_days=90).run_pass().jobs == 0
    assert ids(store) == {job}
