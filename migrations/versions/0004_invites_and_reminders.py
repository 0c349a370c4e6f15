"""invites revoked, reminders sent, review digests, indexes for /stats

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_reminders_sent_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reminders_sent_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders_sent")),
    )
    with op.batch_alter_table("reminders_sent", schema=None) as batch_op:
        batch_op.create_index("ix_reminders_sent_sent_at", ["sent_at"], unique=False)
        batch_op.create_index(
            "ix_reminders_sent_user_course", ["user_id", "course_id"], unique=False
        )

    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_invites_created_at", ["created_at"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("review_digest_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_users_last_active_at", ["last_active_at"], unique=False)

    # Ranges of time for /stats (daily active learners).
    with op.batch_alter_table("lesson_completions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lesson_completions_completed_at", ["completed_at", "student_id"], unique=False
        )
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quiz_attempts_started_at", ["started_at", "student_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_quiz_attempts_started_at")
    with op.batch_alter_table("lesson_completions", schema=None) as batch_op:
        batch_op.drop_index("ix_lesson_completions_completed_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_last_active_at")
        batch_op.drop_column("review_digest_at")

    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_index("ix_invites_created_at")
        batch_op.drop_column("revoked_at")

    with op.batch_alter_table("reminders_sent", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_sent_user_course")
        batch_op.drop_index("ix_reminders_sent_sent_at")

    op.drop_table("reminders_sent")
