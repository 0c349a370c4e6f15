"""The catalog: what a viewer may see of courses, and the card of one course."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import Invalid, NotFound
from db.models import Course, Enrollment, Lesson, Role, User

PAGE_SIZE = 5
MAX_SEARCH_LENGTH = 40


@dataclass(frozen=True)
class CatalogEntry:
    course: Course
    enrolled: bool


@dataclass(frozen=True)
class CatalogPage:
    entries: list[CatalogEntry]
    page: int
    pages: int
    total: int
    query: str


@dataclass(frozen=True)
class CourseCard:
    course: Course
    instructor_name: str
    lesson_count: int
    enrollment: Enrollment | None
    can_manage: bool

    @property
    def enrolled(self) -> bool:
        return self.enrollment is not None

    @property
    def needs_key(self) -> bool:
        return self.course.enrollment_key_hash is not None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def clean_search(query: str | None) -> str:
    query = " ".join((query or "").split())
    if len(query.encode()) > MAX_SEARCH_LENGTH:
        raise Invalid(f"Please search with at most {MAX_SEARCH_LENGTH} characters.")
    return query


async def catalog_page(
    session: AsyncSession, viewer: User, query: str | None = None, page: int = 0
) -> CatalogPage:
    """Published courses, newest first, matching ``query`` in title or category."""
    query = clean_search(query)
    conditions = [Course.is_published.is_(True)]
    if query:
        pattern = f"%{_escape_like(query.lower())}%"
        conditions.append(
            or_(
                func.lower(Course.title).like(pattern, escape="\\"),
                func.lower(Course.category).like(pattern, escape="\\"),
            )
        )
    total = await session.scalar(select(func.count(Course.id)).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows = await session.execute(
        select(Course, Enrollment.id)
        .outerjoin(
            Enrollment,
            and_(Enrollment.course_id == Course.id, Enrollment.student_id == viewer.id),
        )
        .where(*conditions)
        .order_by(Course.created_at.desc(), Course.id.desc())
        .limit(PAGE_SIZE)
        .offset(page * PAGE_SIZE)
    )
    entries = [CatalogEntry(course, enrollment_id is not None) for course, enrollment_id in rows]
    return CatalogPage(entries, page, pages, total, query)


def can_manage(viewer: User, course: Course) -> bool:
    """Owners and admins manage a course."""
    return viewer.role == Role.admin or (
        viewer.role == Role.instructor and course.instructor_id == viewer.id
    )


async def get_enrollment(
    session: AsyncSession, user: User, course_id: int, *, lock: bool = False
) -> Enrollment | None:
    """The user's enrollment in a course; ``lock`` holds its row until the transaction ends
    (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers)."""
    query = select(Enrollment).where(
        Enrollment.student_id == user.id, Enrollment.course_id == course_id
    )
    if lock:
        query = query.with_for_update()
    return await session.scalar(query.execution_options(populate_existing=True))


async def visible_course(session: AsyncSession, viewer: User, course_id: int) -> Course:
    """The course if the viewer may see it: published, enrolled in it, or managing it.

    A draft looks exactly like a missing course to everyone else, so ids cannot be probed.
    """
    course = await session.get(Course, course_id)
    if course is not None and (
        course.is_published
        or can_manage(viewer, course)
        or await get_enrollment(session, viewer, course_id) is not None
    ):
        return course
    raise NotFound("This course is not available.")


async def course_card(session: AsyncSession, viewer: User, course_id: int) -> CourseCard:
    course = await visible_course(session, viewer, course_id)
    instructor = await session.get(User, course.instructor_id)
    lessons = await session.scalar(
        select(func.count(Lesson.id)).where(Lesson.course_id == course.id)
    )
    return CourseCard(
        course=course,
        instructor_name=instructor.display_name if instructor else "—",
        lesson_count=lessons or 0,
        enrollment=await get_enrollment(session, viewer, course.id),
        can_manage=can_manage(viewer, course),
    )
