"""The Alembic migrations run forwards and backwards on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

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
        now = datetime.now(UTC)
        job = {
            "params": "{}", "progress": 0.0, "stage": "queued", "attempt": 0,
            "max_attempts": 3, "time_limit": 3600.0, "status": "pending",
            "created_at": now, "updated_at": now,
        }  # fmt: skip
        columns = ", ".join(job)
        values = ", ".join(f":{name}" for name in job)
        with engine.begin() as connection:
            insert = f"INSERT INTO jobs (kind, name, parent_id, {columns}) VALUES "
            parent = connection.execute(
                text(insert + f"('screen', 'kept', NULL, {values}) RETURNING id"), job
            ).scalar_one()
            chunk = connection.execute(
                text(insert + f"('screen_chunk', 'chunk', :parent, {values}) RETURNING id"),
                {**job, "parent": parent},
            ).scalar_one()
            connection.execute(
                text("INSERT INTO job_files (job_id, name, role, media_type, size, content) "
                     "VALUES (:id, 'receptor.pdbqt', 'input', 'text/plain', 4, :content)"),
                {"id": parent, "content": b"ATOM"},
            )  # fmt: skip
            connection.execute(
                text("INSERT INTO screens (job_id, total, completed, failed, duplicates) "
                     "VALUES (:id, 2, 0, 0, 0)"), {"id": parent},
            )  # fmt: skip
        indexes = {index["name"] for index in inspect(engine).get_indexes("jobs")}
        command.upgrade(alembic_config(engine), "0004")
        assert {index["name"] for index in inspect(engine).get_indexes("jobs")} == indexes
        assert [fk["referred_table"] for fk in inspect(engine).get_foreign_keys("jobs")] == ["jobs"]
        migrate(engine)
        store = Store(engine)
        assert store.get_job(chunk).parent_id == parent
        assert store.read_file(parent, "receptor.pdbqt").content == b"ATOM"
        with engine.connect() as connection:
            total = connection.execute(text("SELECT total FROM screens")).scalar()
        assert total == 2
        store.delete_job(chunk)
        assert store.create_job(kind="dock", name="new", params={}, files=[]).id > chunk
    finally:
        engine.dispose()
