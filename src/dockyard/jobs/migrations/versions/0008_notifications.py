"""Notifications: a webhook per job, a user's notification settings, and the outbox

``jobs.webhook_url`` is a column rather than a parameter because a receiver's URL often holds
its secret, which shares and archives (which carry the parameters) must not. ``deliveries``
is the outbox: the transaction that finishes a job adds its rows, senders claim them with a
lease (``next_attempt_at`` is then the end of the claim) and send each at least once.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain added columns: SQLite adds them in place, without rebuilding ``jobs``.
    op.add_column("jobs", sa.Column("webhook_url", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("webhook_url", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column(
        "users",
        sa.Column("email_on_finish", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_job", "deliveries", ["job_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_job", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_table("deliveries")
    # In place, not a batch rebuild: dropping ``users`` would cascade-delete its tokens.
    for column in ("email_on_finish", "email", "webhook_url"):
        op.drop_column("users", column)
    op.drop_column("jobs", "webhook_url")
