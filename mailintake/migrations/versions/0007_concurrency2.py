"""inhand: which process holds a message (its liveness token), so a live holder is not a crash

Revision ID: 0007
Revises: 0006

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inhand", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inhand", schema=None) as batch_op:
        batch_op.drop_column("held_by")
