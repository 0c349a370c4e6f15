"""durable dialogs and guess throttling

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dialog_kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("dialog_data", sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column("dialog_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_users_dialog_at", ["dialog_at"], unique=False)

    op.create_table(
        "guess_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_guess_throttles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guess_throttles")),
        sa.UniqueConstraint("user_id", "scope", name=op.f("uq_guess_throttles_user_id_scope")),
    )


def downgrade() -> None:
    op.drop_table("guess_throttles")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_dialog_at")
        batch_op.drop_column("dialog_at")
        batch_op.drop_column("dialog_data")
        batch_op.drop_column("dialog_kind")
