"""Pages of a list shown in one message (the catalog, /mycourses): size and page math."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

PAGE_SIZE = 5
T = TypeVar("T")


def clamp_page(page: int, total: int, size: int = PAGE_SIZE) -> tuple[int, int]:
    """``(page, pages)``: a page number from a button, kept within the pages that exist now."""
    pages = max(1, -(-total // size))
    return min(max(page, 0), pages - 1), pages


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    total: int

    @classmethod
    def of(cls, rows: list[T], page: int, size: int = PAGE_SIZE) -> Page[T]:
        """One page of rows already loaded (a student's own enrollments are few)."""
        page, pages = clamp_page(page, len(rows), size)
        return cls(rows[page * size : (page + 1) * size], page, pages, len(rows))
