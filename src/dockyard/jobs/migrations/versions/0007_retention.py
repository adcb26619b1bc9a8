"""Retention: a job's keep pin, a screen's compaction time, a user's retention override, and
the leases that give one process of a fleet each retention pass

``ix_jobs_finished_at`` lets a pass find the expired jobs without reading every row.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch rebuild of SQLite's jobs table would drop its AUTOINCREMENT.
    op.add_column(
        "jobs", sa.Column("keep", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("jobs", sa.Column("compacted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("retention_days")
    op.drop_index("ix_jobs_finished_at", table_name="jobs")
    with op.batch_alter_table("jobs", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("compacted_at")
        batch.drop_column("keep")
