"""Stable cursor pagination shared by every list route.

Lists are ordered by id, and a page's ``next_cursor`` encodes the last id it returned; the
next page starts after that id. Rows inserted or deleted meanwhile never shift a page, so
walking a list with cursors visits every row that existed throughout exactly once. The
cursor is opaque to clients (URL-safe base64); ``limit`` is 1 … ``RAPPORT_MAX_PAGE_SIZE``.

:func:`paginate` reads one page of any select; a list whose rows come from elsewhere (the
audit log, newest first, from :func:`rapport.store.audit.list_entries`) reads
:attr:`Page.fetch` rows and cuts them with :meth:`Page.cut`. Every list answers the
envelope :class:`rapport.api.schemas.common.Page`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Query
from sqlalchemy.orm import Session

from rapport.api.deps import SettingsDep
from rapport.api.errors import ApiError
from rapport.api.schemas.common import Page as PageSchema
from rapport.store.repository import Row

DEFAULT_PAGE_SIZE = 50
#: Ids are 32-bit integers in the store; a cursor beyond them was not issued here.
MAX_ID = 2**31 - 1
_CURSOR_PREFIX = "id:"
P = TypeVar("P", bound=PageSchema[Any])


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The last id of the previous page; 422 naming ``query.cursor`` when malformed."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        value = int(text[len(_CURSOR_PREFIX) :])
        if not 0 <= value <= MAX_ID:
            raise ValueError(text)
        return value
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise ApiError(
            422,
            "validation_failed",
            "query.cursor: not a cursor this API issued",
            field="query.cursor",
            value=cursor,
            hint="pass the next_cursor of the previous page unchanged, or leave it out",
        ) from exc


@dataclass(frozen=True)
class Page:
    """The page a client asks for: ``limit`` rows after the row ``after_id`` (``None``:
    from the first)."""

    limit: int
    after_id: int | None

    @property
    def fetch(self) -> int:
        """Rows to read: one more than the page holds, which tells whether a next exists."""
        return self.limit + 1

    def cut(self, rows: list[Row]) -> tuple[list[Row], str | None]:
        """The page among ``rows`` (at most :attr:`fetch` rows read in cursor order) and
        the cursor of the next page (``None``: this is the last)."""
        if len(rows) <= self.limit:
            return rows, None
        shown = rows[: self.limit]
        return shown, encode_cursor(shown[-1]["id"])


@dataclass(frozen=True)
class Rows:
    """One page of rows read by :func:`paginate`, the count of all, the next cursor."""

    data: list[Row]
    count: int
    next_cursor: str | None

    def as_page(self, model: type[P], public: Callable[[Row], Any]) -> P:
        """The list's answer ``model`` (a :class:`~rapport.api.schemas.common.Page`), each
        row shown by ``public``."""
        return model(
            data=[public(r) for r in self.data], count=self.count, next_cursor=self.next_cursor
        )


def paginate(session: Session, stmt: sa.Select, page: Page, *, key: sa.ColumnElement[int]) -> Rows:
    """The page ``page`` of the rows ``stmt`` selects, in ``key`` order (the rows' ``id``),
    with the count of all the rows ``stmt`` selects.

    ``stmt`` carries the list's conditions — the caller's scope among them — and no order
    or limit of its own.
    """
    count = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    if page.after_id is not None:
        stmt = stmt.where(key > page.after_id)
    stmt = stmt.order_by(key).limit(page.fetch)
    data, cursor = page.cut([dict(r) for r in session.execute(stmt).mappings()])
    return Rows(data=data, count=count, next_cursor=cursor)


def page_params(
    settings: SettingsDep,
    limit: Annotated[
        int, Query(ge=1, description="Rows per page (at most RAPPORT_MAX_PAGE_SIZE).")
    ] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None, Query(max_length=64, description="next_cursor of the previous page.")
    ] = None,
) -> Page:
    if limit > settings.max_page_size:
        raise ApiError(
            422,
            "validation_failed",
            f"query.limit: at most {settings.max_page_size} rows per page",
            field="query.limit",
            value=limit,
            hint=f"use a limit from 1 to {settings.max_page_size} and follow next_cursor",
        )
    return Page(limit=limit, after_id=decode_cursor(cursor) if cursor else None)


PageDep = Annotated[Page, Depends(page_params)]
