"""staff: ticket owner, the client's colleagues in copy, the ticket a duplicate was merged into

Revision ID: 0004
Revises: 0002

Issue 12. Only adds columns: existing tickets get no owner, an empty copy list and no
merge target, which is what they had before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column("cc", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("duplicate_of", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("cc")
        batch_op.drop_column("owner")
