"""Screen ligands: the evidence on their top pose (plausibility, RMSD to the reference)

``plausible`` is a column of its own so the ligand table filters on it in SQL ("plausible
only"); ``evidence`` holds the fields a docking's poses carry (``plausibility``,
``rmsd_to_reference``, ``rmsd_kind``, ``mcs_atoms``). Both stay empty for ligands outside a
screen's best ones, and for screens stored before this revision.

Revision ID: 0006
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("screen_ligands") as batch:
        batch.add_column(sa.Column("plausible", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("evidence", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("screen_ligands") as batch:
        batch.drop_column("evidence")
        batch.drop_column("plausible")
