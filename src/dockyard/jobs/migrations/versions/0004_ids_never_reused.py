"""Job ids are never handed out twice: SQLite's jobs table becomes AUTOINCREMENT

Without AUTOINCREMENT SQLite gives a new row the largest id in the table plus one, so after
the newest job is deleted the next job gets its id, and a link, a bookmark or a client still
polling that id finds a stranger's job. With it, SQLite keeps the largest id ever used in
``sqlite_sequence``. The table is rebuilt (batch mode) with every column, index and foreign
key; the rows are copied. ``jobs`` is the only table whose integer id anyone sees: files,
screens and screen ligands are keyed by their job's id. PostgreSQL's ``serial`` sequence
already never gives an id twice, so nothing changes there.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _rebuild_jobs(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.execute(sa.text("PRAGMA foreign_keys")).scalar():
        # Dropping the old table would cascade-delete every job's files, screens and chunks.
        raise RuntimeError("SQLite foreign keys must be off while the jobs table is rebuilt.")
    with op.batch_alter_table(
        "jobs", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild_jobs(autoincrement=True)


def downgrade() -> None:
    _rebuild_jobs(autoincrement=False)
