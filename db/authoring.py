"""Whole-course authoring: create a course tree from a draft, and read one back as a draft.

The drafts are plain data, shared by course files (import/export) and later by chat authoring.
A lesson read back carries its id as ``key``: a course file keeps it, so that replacing the
course from an edited file (``db.replacing``) knows which lesson is which.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.errors import NotFound, Reason
from db.models import (
    AnswerOption,
    Course,
    Difficulty,
    Lesson,
    MediaKind,
    Question,
    QuestionType,
    Quiz,
    User,
)
from db.progress import recompute_progress
from db.security import hash_secret


@dataclass
class OptionDraft:
    text: str
    correct: bool = False


@dataclass
class QuestionDraft:
    text: str
    type: QuestionType
    options: list[OptionDraft] = field(default_factory=list)
    explanation: str | None = None


@dataclass
class QuizDraft:
    title: str
    passing_score: int = 70
    max_attempts: int = 0
    questions: list[QuestionDraft] = field(default_factory=list)


@dataclass
class LessonDraft:
    title: str
    content: str = ""
    media_kind: MediaKind | None = None
    media_file_id: str | None = None
    quiz: QuizDraft | None = None
    # The id of the lesson this draft was read from (a course file's ``id:``). Only replacing a
    # course in place uses it; a new course gets new lessons whatever it says.
    key: int | None = None


@dataclass
class CourseDraft:
    title: str
    description: str = ""
    category: str = ""
    difficulty: Difficulty = Difficulty.beginner
    duration_minutes: int = 0
    published: bool = False
    enrollment_key: str | None = None
    lessons: list[LessonDraft] = field(default_factory=list)


def questions_from_drafts(drafts: list[QuestionDraft]) -> list[Question]:
    """New questions (with their options) in the drafts' order, for a quiz to hold."""
    return [
        Question(
            text=question.text,
            type=question.type,
            order_index=q_index,
            explanation=question.explanation,
            options=[
                AnswerOption(text=option.text, is_correct=option.correct, order_index=o_index)
                for o_index, option in enumerate(question.options)
            ],
        )
        for q_index, question in enumerate(drafts)
    ]


def quiz_from_draft(draft: QuizDraft) -> Quiz:
    return Quiz(
        title=draft.title,
        passing_score=draft.passing_score,
        max_attempts=draft.max_attempts,
        questions=questions_from_drafts(draft.questions),
    )


def quiz_as_draft(quiz: Quiz) -> QuizDraft:
    """A quiz loaded with its questions and their options, as a draft."""
    return QuizDraft(
        title=quiz.title,
        passing_score=quiz.passing_score,
        max_attempts=quiz.max_attempts,
        questions=question_drafts(quiz),
    )


async def create_course(session: AsyncSession, owner: User, draft: CourseDraft) -> Course:
    """Insert the whole course in the caller's transaction: all of it or, on error, nothing.
    The lessons are new ones: their drafts' ``key`` is not looked at.

    A key is hashed (argon2, ~0.4 s of CPU) in a worker thread before any statement, so it
    stalls neither the event loop nor, when the caller's transaction has not begun, the lock.
    """
    key_hash = (
        await asyncio.to_thread(hash_secret, draft.enrollment_key) if draft.enrollment_key else None
    )
    course = Course(
        title=draft.title,
        description=draft.description,
        category=draft.category,
        difficulty=draft.difficulty,
        duration_minutes=draft.duration_minutes,
        is_published=draft.published,
        instructor_id=owner.id,
        enrollment_key_hash=key_hash,
        lessons=[
            Lesson(
                title=lesson.title,
                content=lesson.content,
                media_kind=lesson.media_kind,
                media_file_id=lesson.media_file_id,
                order_index=index,
                quiz=quiz_from_draft(lesson.quiz) if lesson.quiz else None,
            )
            for index, lesson in enumerate(draft.lessons)
        ],
    )
    session.add(course)
    await session.flush()
    await recompute_progress(session, course.id)
    return course


def question_drafts(quiz: Quiz) -> list[QuestionDraft]:
    """A quiz's questions (loaded with their options) as drafts: for export and to show them."""
    return [
        QuestionDraft(
            text=question.text,
            type=question.type,
            explanation=question.explanation,
            options=[OptionDraft(option.text, option.is_correct) for option in question.options],
        )
        for question in quiz.questions
    ]


async def course_draft(session: AsyncSession, course_id: int) -> CourseDraft:
    """A course as a draft, for export, each lesson with its id as ``key``. The enrollment key
    is a hash and is never exported."""
    course = await session.scalar(
        select(Course)
        .where(Course.id == course_id)
        .options(
            selectinload(Course.lessons)
            .selectinload(Lesson.quiz)
            .selectinload(Quiz.questions)
            .selectinload(Question.options)
        )
    )
    if course is None:
        raise NotFound(Reason.no_such_course, course_id=course_id)
    return CourseDraft(
        title=course.title,
        description=course.description,
        category=course.category,
        difficulty=course.difficulty,
        duration_minutes=course.duration_minutes,
        published=course.is_published,
        lessons=[
            LessonDraft(
                title=lesson.title,
                content=lesson.content,
                media_kind=lesson.media_kind,
                media_file_id=lesson.media_file_id,
                quiz=None if lesson.quiz is None else quiz_as_draft(lesson.quiz),
                key=lesson.id,
            )
            for lesson in course.lessons
        ],
    )
