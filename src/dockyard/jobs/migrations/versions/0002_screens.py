"""Screens: a parent job, its chunks (jobs with parent_id), counters and one row per ligand

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screen_ligands",
        sa.Column("screen_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_format", sa.String(length=8), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "completed",
                "failed",
                "duplicate",
                name="ligandstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("canonical_smiles", sa.Text(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("ligand_efficiency", sa.Float(), nullable=True),
        sa.Column("heavy_atoms", sa.Integer(), nullable=True),
        sa.Column("molecular_weight", sa.Float(), nullable=True),
        sa.Column("logp", sa.Float(), nullable=True),
        sa.Column("num_poses", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("poses_sdf", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["screen_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("screen_id", "idx"),
    )
    with op.batch_alter_table("screen_ligands", schema=None) as batch_op:
        batch_op.create_index(
            "ix_screen_ligands_canonical", ["screen_id", "canonical_smiles"], unique=False
        )
        batch_op.create_index("ix_screen_ligands_score", ["screen_id", "score"], unique=False)
        batch_op.create_index("ix_screen_ligands_status", ["screen_id", "status"], unique=False)

    op.create_table(
        "screens",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("best_score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_jobs_parent_id", ["parent_id", "id"], unique=False)
        batch_op.create_foreign_key(
            "fk_jobs_parent_id", "jobs", ["parent_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_jobs_parent_id", type_="foreignkey")
        batch_op.drop_index("ix_jobs_parent_id")
        batch_op.drop_column("parent_id")

    op.drop_table("screens")
    with op.batch_alter_table("screen_ligands", schema=None) as batch_op:
        batch_op.drop_index("ix_screen_ligands_status")
        batch_op.drop_index("ix_screen_ligands_score")
        batch_op.drop_index("ix_screen_ligands_canonical")

    op.drop_table("screen_ligands")
