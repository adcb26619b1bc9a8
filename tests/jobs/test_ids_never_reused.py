"""A deleted job's id is never given to a new job, on SQLite and PostgreSQL, across restarts."""

from __future__ import annotations

from sqlalchemy import inspect, text

from dockyard.config import Settings
from dockyard.jobs.db import make_engine
from dockyard.jobs.store import Store
from tests.conftest import LiveServer


def _create(store: Store) -> int:
    return store.create_job(kind="dock", name="id test", params={}, files=[]).id


def test_the_newest_id_is_not_given_again_after_a_delete(database_url):
    store = Store.open(database_url)
    try:
        first, newest = _create(store), _create(store)
        store.delete_job(newest)
        again = _create(store)
        assert again > newest > first
    finally:
        store.close()

    # A restart: a new engine, as a new server process has, remembers the largest id too.
    store = Store.open(database_url)
    try:
        store.delete_job(again)
        assert _create(store) > again
    finally:
        store.close()


def test_ids_through_the_api_survive_a_server_restart(tmp_path, database_url, small_job):
    settings = Settings(data_dir=tmp_path, database_url=database_url, workers=1)
    fields, files = small_job()
    with LiveServer(settings) as live:
        created = live.submit(files, **fields).json()["job_id"]
        assert live.client.delete(f"/api/jobs/{created}").status_code == 204
    with LiveServer(settings) as live:
        after_restart = live.submit(files, **fields).json()["job_id"]
        assert live.client.delete(f"/api/jobs/{after_restart}").status_code == 204
    assert after_restart > created


def test_postgresql_ids_come_from_a_sequence(postgres_url):
    """PostgreSQL never needed the migration: ``serial`` draws ids from a sequence, which
    never goes back, whatever is deleted."""
    Store.open(postgres_url).close()
    engine = make_engine(postgres_url)
    try:
        column = next(c for c in inspect(engine).get_columns("jobs") if c["name"] == "id")
        assert "nextval" in str(column["default"])
        with engine.connect() as connection:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence('jobs', 'id')")
            ).scalar()
        assert sequence
    finally:
        engine.dispose()
