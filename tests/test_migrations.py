"""The Alembic migrations run forwards and backwards on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from dockyard.jobs.db import alembic_config, make_engine, migrate
from dockyard.jobs.store import Store, StoredFile


def test_migrations_go_down_to_nothing_and_up_again(database_url):
    engine = make_engine(database_url)
    try:
        migrate(engine)
        assert {"jobs", "job_files", "screens", "screen_ligands"} <= set(
            inspect(engine).get_table_names()
        )
        command.downgrade(alembic_config(engine), "base")
        assert not {"jobs", "job_files"} & set(inspect(engine).get_table_names())
        migrate(engine)
        store = Store(engine)
        job = store.create_job(
            kind="dock", name="after the round trip", params={},
            files=[StoredFile("receptor.pdbqt", b"ATOM" * 10_000)],
        )  # fmt: skip
        assert store.read_file(job.id, "receptor.pdbqt").content == b"ATOM" * 10_000
    finally:
        engine.dispose()


def test_postgresql_compresses_stored_files_with_lz4(postgres_url):
    engine = make_engine(postgres_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            methods = dict(
                connection.execute(
                    text(
                        "SELECT attrelid::regclass::text, attcompression FROM pg_attribute "
                        "WHERE (attrelid = 'job_files'::regclass AND attname = 'content') "
                        "OR (attrelid = 'screen_ligands'::regclass AND attname = 'poses_sdf')"
                    )
                ).all()
            )
        assert methods == {"job_files": "l", "screen_ligands": "l"}
    finally:
        engine.dispose()


def test_ids_never_reused_migration_keeps_every_row(database_url):
    """0004 rebuilds SQLite's jobs table: jobs, their files, screens and chunks all survive,
    and the ids of jobs deleted after it are never given again."""
    engine = make_engine(database_url)
    try:
        command.upgrade(alembic_config(engine), "0003")
        store = Store(engine)
        parent = store.create_job(
            kind="screen", name="kept", params={"a": 1},
            files=[StoredFile("receptor.pdbqt", b"ATOM")],
        )  # fmt: skip
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO screens (job_id, total, completed, failed, duplicates) "
                     "VALUES (:id, 2, 0, 0, 0)"), {"id": parent.id},
            )  # fmt: skip
        chunk = store.create_job(kind="screen_chunk", name="chunk", params={}, files=[])
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE jobs SET parent_id = :parent WHERE id = :id"),
                {"parent": parent.id, "id": chunk.id},
            )
        indexes = {index["name"] for index in inspect(engine).get_indexes("jobs")}
        migrate(engine)
        assert {index["name"] for index in inspect(engine).get_indexes("jobs")} == indexes
        assert [fk["referred_table"] for fk in inspect(engine).get_foreign_keys("jobs")] == ["jobs"]
        assert store.get_job(chunk.id).parent_id == parent.id
        assert store.read_file(parent.id, "receptor.pdbqt").content == b"ATOM"
        with engine.connect() as connection:
            total = connection.execute(text("SELECT total FROM screens")).scalar()
        assert total == 2
        store.delete_job(chunk.id)
        assert store.create_job(kind="dock", name="new", params={}, files=[]).id > chunk.id
    finally:
        engine.dispose()
