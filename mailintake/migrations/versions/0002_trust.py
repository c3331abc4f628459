"""trust: message fingerprints, messages in hand, what quarantined mail is

Revision ID: 0002
Revises: 0001

Adds only (issue 10, issue 13): `intake.content_sha256` (a reused Message-ID on
other content is a new message), the `inhand` table (a message being handled,
recorded before its work starts, so a poison message is quarantined instead of
retried forever) and the quarantine entry's sender, subject, Date, Message-ID
and place in the mailbox's Quarantine folder.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intake", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_addr", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("subject", sa.String(length=998), nullable=True))
        batch_op.add_column(sa.Column("date", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.String(length=998), nullable=True))
        batch_op.add_column(sa.Column("held_ref", sa.String(length=300), nullable=True))
    op.create_table(
        "inhand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_ref", sa.String(length=300), nullable=True),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("in_hand", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("raw_sha256"),
    )


def downgrade() -> None:
    op.drop_table("inhand")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        for column in ("held_ref", "message_id", "date", "subject", "from_addr"):
            batch_op.drop_column(column)
    with op.batch_alter_table("intake", schema=None) as batch_op:
        batch_op.drop_column("content_sha256")
