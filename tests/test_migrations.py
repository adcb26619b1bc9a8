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
