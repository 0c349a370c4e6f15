"""The whole data model of SPEC §2 as typed SQLAlchemy 2 models.

Relationships are ``lazy="raise"``: an async code path must say what it loads (``selectinload``),
so no hidden lazy load can block the event loop.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The largest id of a row (SQL ``INTEGER``): ids parsed from outside are bounded by it, since
# PostgreSQL refuses a larger number outright.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Role(enum.StrEnum):
    student = "student"
    instructor = "instructor"
    admin = "admin"

    @property
    def rank(self) -> int:
        return {"student": 0, "instructor": 1, "admin": 2}[self.value]


class Difficulty(enum.StrEnum):
    beginner = "beginner"
    intermediate = "intermediate"
    advanced = "advanced"


class MediaKind(enum.StrEnum):
    photo = "photo"
    video = "video"
    document = "document"
    audio = "audio"


class QuestionType(enum.StrEnum):
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    text = "text"


class AttemptStatus(enum.StrEnum):
    in_progress = "in_progress"
    submitted = "submitted"
    pending_review = "pending_review"
    graded = "graded"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Plain strings with a CHECK constraint: portable and readable in SQLite and PostgreSQL.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


TS = UTCDateTime()


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(256), default="")
    language_code: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.student, index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    reminder_hour: Mapped[int] = mapped_column(Integer, default=18)
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    # The open dialog (the prompt the user's next typed text answers), kept here rather than in
    # memory so it survives a restart, and read with the account at no extra cost.
    dialog_kind: Mapped[str | None] = mapped_column(String(32))
    dialog_data: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    dialog_at: Mapped[datetime | None] = mapped_column(TS)
    # When an instructor was last told of answers waiting for review (once a local day).
    review_digest_at: Mapped[datetime | None] = mapped_column(TS)

    __table_args__ = (
        CheckConstraint("reminder_hour BETWEEN 0 AND 23", name="reminder_hour_range"),
        Index("ix_users_username", "username"),
        Index("ix_users_dialog_at", "dialog_at"),
        Index("ix_users_last_active_at", "last_active_at"),  # /users, /stats
    )

    @property
    def display_name(self) -> str:
        return self.full_name or (f"@{self.username}" if self.username else f"#{self.telegram_id}")


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    difficulty: Mapped[Difficulty] = mapped_column(
        _enum(Difficulty, "difficulty"), default=Difficulty.beginner
    )
    duration_minutes: Mapped[int] = mapped_column(Integer, default=0)
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    instructor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    enrollment_key_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TS, default=utcnow, onupdate=utcnow)

    instructor: Mapped[User] = relationship(lazy="raise")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course",
        lazy="raise",
        order_by="Lesson.order_index",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        CheckConstraint("duration_minutes >= 0", name="duration_non_negative"),
        Index("ix_courses_published_title", "is_published", "title"),
        Index("ix_courses_instructor_id", "instructor_id"),
    )


class Lesson(Base):
    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    media_kind: Mapped[MediaKind | None] = mapped_column(_enum(MediaKind, "media_kind"))
    media_file_id: Mapped[str | None] = mapped_column(String(255))
    order_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)

    course: Mapped[Course] = relationship(back_populates="lessons", lazy="raise")
    quiz: Mapped[Quiz | None] = relationship(
        back_populates="lesson", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        UniqueConstraint("course_id", "order_index"),
        CheckConstraint(
            "(media_kind IS NULL) = (media_file_id IS NULL)", name="media_kind_with_file"
        ),
    )


class Enrollment(Base):
    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    enrolled_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    progress_percentage: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(TS)
    last_activity_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    last_reminded_at: Mapped[datetime | None] = mapped_column(TS)
    # "Stop reminders" for this one course (the user's own switch is users.reminders_enabled).
    reminders_enabled: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true")
    )

    student: Mapped[User] = relationship(lazy="raise")
    course: Mapped[Course] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("student_id", "course_id"),
        CheckConstraint("progress_percentage BETWEEN 0 AND 100", name="progress_range"),
        Index("ix_enrollments_course_id", "course_id"),
        # The reminder sweep scans unfinished enrollments by inactivity.
        Index("ix_enrollments_due", "completed_at", "last_activity_at"),
    )


class LessonCompletion(Base):
    __tablename__ = "lesson_completions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    completed_at: Mapped[datetime] = mapped_column(TS, default=utcnow)

    __table_args__ = (
        UniqueConstraint("student_id", "lesson_id"),
        Index("ix_lesson_completions_lesson_id", "lesson_id"),
        # /stats: daily learners, read from the index alone.
        Index("ix_lesson_completions_completed_at", "completed_at", "student_id"),
    )


class Quiz(Base):
    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lesson_id: Mapped[int] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(String(200))
    passing_score: Mapped[int] = mapped_column(Integer, default=70)
    max_attempts: Mapped[int] = mapped_column(Integer, default=0)

    lesson: Mapped[Lesson] = relationship(back_populates="quiz", lazy="raise")
    questions: Mapped[list[Question]] = relationship(
        back_populates="quiz",
        lazy="raise",
        order_by="Question.order_index",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        CheckConstraint("passing_score BETWEEN 0 AND 100", name="passing_score_range"),
        CheckConstraint("max_attempts >= 0", name="max_attempts_non_negative"),
    )


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    type: Mapped[QuestionType] = mapped_column(_enum(QuestionType, "question_type"))
    order_index: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[str | None] = mapped_column(Text)

    quiz: Mapped[Quiz] = relationship(back_populates="questions", lazy="raise")
    options: Mapped[list[AnswerOption]] = relationship(
        back_populates="question",
        lazy="raise",
        order_by="AnswerOption.order_index",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (UniqueConstraint("quiz_id", "order_index"),)


class AnswerOption(Base):
    __tablename__ = "answer_options"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(300))
    is_correct: Mapped[bool] = mapped_column(Boolean, default=False)
    order_index: Mapped[int] = mapped_column(Integer)

    question: Mapped[Question] = relationship(back_populates="options", lazy="raise")

    __table_args__ = (UniqueConstraint("question_id", "order_index"),)


class QuizAttempt(Base):
    """One try at a quiz.

    ``answers`` maps question id (as a string: JSON keys are strings) to a list of option ids or
    to the typed text. Each answer is committed when it is given, so a restart loses nothing.
    ``version`` makes every write of the row conditional on what was read (optimistic locking):
    two concurrent writers cannot both extend ``answers`` from the same old value.
    """

    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    answers: Mapped[dict[str, list[int] | str]] = mapped_column(JSON, default=dict)
    score: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[AttemptStatus] = mapped_column(
        _enum(AttemptStatus, "attempt_status"), default=AttemptStatus.in_progress
    )
    started_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(TS)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewer_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(TS)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Set when the instructor changed the quiz while this attempt was in progress: its answers
    # were dropped, and the student is told so at their next tap (which clears it).
    restarted_at: Mapped[datetime | None] = mapped_column(TS)

    quiz: Mapped[Quiz] = relationship(lazy="raise")
    student: Mapped[User] = relationship(lazy="raise", foreign_keys=[student_id])

    __table_args__ = (
        Index("ix_quiz_attempts_student_quiz", "student_id", "quiz_id", "status"),
        Index("ix_quiz_attempts_status", "status"),
        Index("ix_quiz_attempts_started_at", "started_at", "student_id"),  # /stats, likewise
        # At most one unfinished attempt per student and quiz: the final guard for double taps.
        Index(
            "uq_quiz_attempts_one_open",
            "student_id",
            "quiz_id",
            unique=True,
            sqlite_where=text("status = 'in_progress'"),
            postgresql_where=text("status = 'in_progress'"),
        ),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "invite_role"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TS)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None] = mapped_column(TS)
    revoked_at: Mapped[datetime | None] = mapped_column(TS)

    __table_args__ = (Index("ix_invites_created_at", "created_at"),)


class GuessThrottle(Base):
    """Wrong guesses of a secret (an enrollment key, later an invite code) per user and scope.

    Kept in the database so a restart does not hand out fresh guesses.
    """

    __tablename__ = "guess_throttles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(TS)

    __table_args__ = (UniqueConstraint("user_id", "scope"),)


class RoleChange(Base):
    __tablename__ = "role_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    old_role: Mapped[Role] = mapped_column(_enum(Role, "old_role"))
    new_role: Mapped[Role] = mapped_column(_enum(Role, "new_role"))
    at: Mapped[datetime] = mapped_column(TS, default=utcnow)

    __table_args__ = (Index("ix_role_changes_target_id", "target_id"),)


class CampaignKind(enum.StrEnum):
    announcement = "announcement"  # a new lesson, to the course's students
    broadcast = "broadcast"  # an admin's message


class CampaignStatus(enum.StrEnum):
    draft = "draft"  # composed, not confirmed
    sending = "sending"
    done = "done"
    cancelled = "cancelled"


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    claimed = "claimed"  # taken by a sender; after a crash it is never sent again (at most once)
    sent = "sent"
    blocked = "blocked"  # Telegram said 403: the user blocked the bot
    failed = "failed"
    skipped = "skipped"  # the user had blocked the bot before their turn came


class Campaign(Base):
    """One message pushed to many users (an announcement, a broadcast), sent at a paced rate.

    Its recipients are ``Delivery`` rows written when it starts, each claimed before it is sent,
    so a restart resumes where it stopped and nobody gets it twice. ``dedupe_key`` makes a second
    announcement of the same thing impossible (``lesson:17``).
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[CampaignKind] = mapped_column(_enum(CampaignKind, "campaign_kind"))
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus, "campaign_status"), default=CampaignStatus.draft
    )
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    # What is sent: Telegram HTML, with an optional photo (then the text is its caption) and
    # the buttons described as data (``{"lesson": 17}``: an Open button for that lesson).
    text: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # Who is reached, as data (``{"kind": "course", "course_id": 5}``), and where the sender's
    # progress message lives so that a resumed campaign keeps editing it.
    audience: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    report_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    report_message_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS)

    __table_args__ = (Index("ix_campaigns_status", "status"),)


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.pending
    )
    updated_at: Mapped[datetime | None] = mapped_column(TS)

    __table_args__ = (
        UniqueConstraint("campaign_id", "user_id"),
        Index("ix_deliveries_campaign_status", "campaign_id", "status"),
    )


class ReminderSent(Base):
    """One reminder about one course, as sent (for /stats: how many, and who came back)."""

    __tablename__ = "reminders_sent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(TS, default=utcnow)

    __table_args__ = (
        Index("ix_reminders_sent_sent_at", "sent_at"),
        Index("ix_reminders_sent_user_course", "user_id", "course_id"),
    )
