"""PostgreSQL notifies every change of a job on channel ``dockyard_jobs``.

A trigger on ``jobs`` sends the job's id, in the writing transaction (so a listener hears of
a change only once it is committed), whenever a job is added or its ``updated_at`` moves:
every writer — the store, the screen store, a worker of any version — is covered, and a
lease renewal, which changes nothing a page shows, is not. The payload is only the id: the
database stays the truth, and a server's change feed reads the state from it. SQLite has no
such channel; its servers poll.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NOTIFY = """
CREATE FUNCTION dockyard_notify_job_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.updated_at IS NOT DISTINCT FROM NEW.updated_at THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('dockyard_jobs', NEW.id::text);
    RETURN NULL;
END
$$
"""
TRIGGER = """
CREATE TRIGGER jobs_notify_change AFTER INSERT OR UPDATE ON jobs
FOR EACH ROW EXECUTE FUNCTION dockyard_notify_job_change()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NOTIFY)
    op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS jobs_notify_change ON jobs")
    op.execute("DROP FUNCTION IF EXISTS dockyard_notify_job_change()")
