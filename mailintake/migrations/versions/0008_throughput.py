"""inhand: how many messages were taken in hand together (a batch crash re-runs them alone)

Revision ID: 0008
Revises: 0007

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inhand", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("inhand", schema=None) as batch_op:
        batch_op.drop_column("batch")
