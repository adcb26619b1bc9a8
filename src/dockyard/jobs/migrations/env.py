"""Alembic environment: runs on the engine Dockyard hands over, under a lock on PostgreSQL."""

from alembic import context
from sqlalchemy import text

from dockyard.jobs.models import Base

MIGRATION_LOCK_ID = 0x646F636B  # "dock": one server or worker migrates at a time


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
                connection.commit()


run_migrations()
