"""Alembic environment: runs on the engine Dockyard hands over, under a lock on PostgreSQL.

On SQLite, foreign keys are off while migrations run (outside their transaction, the only
place SQLite lets them change): a batch migration rebuilds a table by dropping the old one,
which with foreign keys on would cascade-delete the rows that refer to it. The keys are
checked before the migration commits and turned on again after.
"""

from alembic import context
from sqlalchemy import Connection, text

from dockyard.jobs.models import Base

MIGRATION_LOCK_ID = 0x646F636B  # "dock": one server or worker migrates at a time


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_foreign_keys(connection)
            connection.commit()
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
                connection.commit()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"A migration left rows that refer to nothing: {broken[:5]}")


run_migrations()
