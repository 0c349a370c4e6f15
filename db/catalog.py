"""The catalog: what a viewer may see of courses, and the card of one course."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Access, access_of, own_enrollment
from db.errors import Invalid, NotFound, Reason
from db.models import Course, Enrollment, Lesson, User
from db.paging import PAGE_SIZE, clamp_page

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
        raise Invalid(Reason.search_too_long, limit=MAX_SEARCH_LENGTH)
    return query


@functools.cache
def _catalog_queries(*, searching: bool) -> tuple[Select[tuple[int]], Select[tuple[Course, int]]]:
    """The count and one page of published courses (matching ``pattern`` when searching, for
    ``viewer_id`` from ``offset``); built once (see ``db.access``)."""
    conditions = [Course.is_published.is_(True)]
    if searching:
        pattern = bindparam("pattern")
        conditions.append(
            or_(
                func.lower(Course.title).like(pattern, escape="\\"),
                func.lower(Course.category).like(pattern, escape="\\"),
            )
        )
    count = select(func.count(Course.id)).where(*conditions)
    listing = (
        select(Course, Enrollment.id)
        .outerjoin(Enrollment, own_enrollment())
        .where(*conditions)
        .order_by(Course.created_at.desc(), Course.id.desc())
        .limit(PAGE_SIZE)
        .offset(bindparam("offset"))
    )
    return count, listing


async def catalog_page(
    session: AsyncSession, viewer: User, query: str | None = None, page: int = 0
) -> CatalogPage:
    """Published courses, newest first, matching ``query`` in title or category."""
    query = clean_search(query)
    count, listing = _catalog_queries(searching=bool(query))
    search = {"pattern": f"%{_escape_like(query.lower())}%"} if query else {}
    total = await session.scalar(count, search) or 0
    page, pages = clamp_page(page, total)
    params = {**search, "viewer_id": viewer.id, "offset": page * PAGE_SIZE}
    rows = await session.execute(listing, params)
    entries = [CatalogEntry(course, enrollment_id is not None) for course, enrollment_id in rows]
    return CatalogPage(entries, page, pages, total, query)


async def visible_course(session: AsyncSession, viewer: User, course_id: int) -> Access:
    """The course if the viewer may see it (``db.access``), with the viewer's enrollment."""
    params = {"course_id": course_id, "viewer_id": viewer.id}
    row = (await session.execute(_course_query(), params)).first()
    if row is None:
        raise NotFound(Reason.course_not_available)
    seen = access_of(viewer, row[0], row[1])
    seen.require_visible()
    return seen


@functools.cache
def _course_query() -> Select[tuple[Course, Enrollment]]:
    """A course with the viewer's enrollment; built once (see ``db.access``)."""
    return (
        select(Course, Enrollment)
        .outerjoin(Enrollment, own_enrollment())
        .where(Course.id == bindparam("course_id"))
    )


@functools.cache
def _card_query() -> Select[tuple[Course, User, int, Enrollment]]:
    """Built once (see ``db.access``)."""
    lessons = select(func.count(Lesson.id)).where(Lesson.course_id == Course.id)
    return (
        select(Course, User, lessons.scalar_subquery(), Enrollment)
        .join(User, User.id == Course.instructor_id)
        .outerjoin(Enrollment, own_enrollment())
        .where(Course.id == bindparam("course_id"))
    )


async def course_card(session: AsyncSession, viewer: User, course_id: int) -> CourseCard:
    """The course, its instructor, lesson count and the viewer's access in one query."""
    params = {"course_id": course_id, "viewer_id": viewer.id}
    row = (await session.execute(_card_query(), params)).first()
    if row is None:
        raise NotFound(Reason.course_not_available)
    course, instructor, lesson_count, enrollment = row
    seen = access_of(viewer, course, enrollment)
    seen.require_visible()
    return CourseCard(course, instructor.display_name, lesson_count or 0, seen.enrollment)
