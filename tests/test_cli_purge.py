"""``dockyard purge`` and ``dockyard users set --retention-days`` on real databases and files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from dockyard.cli import app
from dockyard.jobs.models import Job, JobStatus, utcnow
from dockyard.jobs.store import Store
from tests.jobs.aging import old_job, old_screen

runner = CliRunner()


def invoke(database_url: str, *args: str):
    return runner.invoke(app, list(args), env={"DOCKYARD_DATABASE_URL": database_url})


def job_ids(store: Store) -> set[int]:
    with store.session() as session:
        return set(session.scalars(select(Job.id).where(Job.parent_id.is_(None))))


def test_purge_by_hand_after_a_dry_run(database_url):
    store = Store.open(database_url)
    now = utcnow()
    old = [old_job(store, days, now=now) for days in (40, 100, 400)]
    screen = old_screen(store, 60, 30, now=now)
    recent = old_job(store, 10, now=now)
    pinned = old_job(store, 100, now=now)
    store.retention.set_keep(pinned, True)
    running = old_job(store, 100, status=JobStatus.RUNNING, now=now)
    before = job_ids(store)

    dry = invoke(database_url, "purge", "--older-than", "30d", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would be freed" in dry.output and "dry run" in dry.output
    assert job_ids(store) == before

    done = invoke(database_url, "purge", "--older-than", "30d", "--batch", "2")
    assert done.exit_code == 0, done.output
    assert job_ids(store) == {recent, pinned, running}
    assert not job_ids(store) & {*old, screen}
    table = done.output
    assert "Freed" in table and "Database:" in table
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in table.splitlines()
            if line.count("│") == 3}  # fmt: skip
    assert rows["jobs (screens with their chunks)"] == "4"
    assert rows["stored files"] == str(3 * 2 + 1)
    assert rows["screen ligands"] == "30"
    assert rows == {
        key: value for key, value in
        {line.split("│")[1].strip(): line.split("│")[2].strip()
         for line in dry.output.splitlines() if line.count("│") == 3}.items()
    }  # fmt: skip
    store.close()


def test_vacuum_really_shrinks_the_sqlite_file(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'dockyard.db'}"
    store = Store.open(url)
    now = utcnow()
    for _ in range(120):
        old_job(store, 100, now=now, size=50_000)
    kept = old_job(store, 1, now=now)
    store.close()
    path = make_url(url).database
    before = os.path.getsize(path)
    assert before > 10_000_000

    done = invoke(url, "purge", "--older-than", "30d", "--vacuum")
    assert done.exit_code == 0, done.output
    assert "VACUUM" in done.output
    after = os.path.getsize(path)
    assert after < before / 10, (before, after)
    store = Store.open(url)
    assert job_ids(store) == {kept}
    assert store.read_file(kept, "poses.sdf").content == b"x" * 4000
    store.close()


def test_vacuum_on_postgresql_reclaims_inside_the_database(postgres_url):
    store = Store.open(postgres_url)
    old_job(store, 100, now=utcnow())
    store.close()
    done = invoke(postgres_url, "purge", "--older-than", "12h", "--vacuum")
    assert done.exit_code == 0, done.output
    assert "VACUUM (ANALYZE)" in done.output


@pytest.mark.parametrize("duration", ["30", "30 days", "-1d", "0d", "1.5h", "30m", "d", "7dd"])
def test_bad_durations_are_refused_clearly(tmp_path: Path, duration: str):
    url = f"sqlite:///{tmp_path / 'dockyard.db'}"
    refused = invoke(url, "purge", "--older-than", duration)
    assert refused.exit_code == 2
    assert "--older-than" in refused.output and "30d or 12h" in refused.output
    assert not (tmp_path / "dockyard.db").exists()


def test_an_admin_sets_a_users_retention(database_url):
    store = Store.open(database_url)
    alice = store.accounts.add_user("alice", "pw")
    done = invoke(database_url, "users", "set", "alice", "--retention-days", "14")
    assert done.exit_code == 0, done.output
    assert "kept 14 days" in done.output
    assert store.accounts.get_user(alice.id).retention_days == 14
    assert invoke(database_url, "users", "set", "alice", "--retention-days", "0").exit_code == 0
    assert store.accounts.get_user(alice.id).retention_days == 0
    back = invoke(database_url, "users", "set", "alice", "--retention-days", "server")
    assert back.exit_code == 0 and "the server's setting" in back.output
    assert store.accounts.get_user(alice.id).retention_days is None
    for bad in ("-4", "two weeks", "99999999"):
        refused = invoke(database_url, "users", "set", "alice", "--retention-days", bad)
        assert refused.exit_code != 0 and "retention" in refused.output, refused.output
    assert invoke(database_url, "users", "set", "nobody", "--retention-days", "3").exit_code != 0
    store.close()
