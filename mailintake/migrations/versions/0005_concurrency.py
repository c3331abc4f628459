"""outbox: who claimed a row and when, the overdue alert, indexes for bounces and the digest

Revision ID: 0005
Revises: 0004

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("overdue_alerted_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_outbox_message_id", ["message_id"], unique=False)
        batch_op.create_index("ix_outbox_kind_created_at", ["kind", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_kind_created_at")
        batch_op.drop_index("ix_outbox_message_id")
        batch_op.drop_column("overdue_alerted_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
