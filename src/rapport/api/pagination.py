"""Cursor pages of every list route: the API's side of :mod:`rapport.store.paging`.

A list route takes :data:`PageDep` — ``?limit=`` (1 … ``RAPPORT_MAX_PAGE_SIZE``) and
``?cursor=`` (the ``next_cursor`` of the previous page, opaque to clients) — reads its page
through :func:`paginate` (rows of a select, in id order), through a report that takes the
:class:`~rapport.store.paging.PageRequest` (the score lists, in their own order), or with
:attr:`PageRequest.fetch` and :meth:`PageRequest.cut` (the audit log, newest first), and
answers the envelope :class:`rapport.api.schemas.common.Page`: ``data``, ``count``,
``next_cursor``. How keyset pages stay stable while rows come and go is told in
:mod:`rapport.store.paging`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Query
from sqlalchemy.orm import Session

from rapport.api.deps import SettingsDep
from rapport.api.errors import ApiError
from rapport.api.schemas.common import Page as PageSchema
from rapport.store.paging import PageRequest, SortKey, decode_cursor, read_page
from rapport.store.repository import Row

DEFAULT_PAGE_SIZE = 50
#: How the API names the cursor in its errors.
CURSOR_FIELD = "query.cursor"
P = TypeVar("P", bound=PageSchema[Any])


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


def paginate(
    session: Session, stmt: sa.Select[Any], page: PageRequest, *, key: sa.ColumnElement[int]
) -> Rows:
    """The page ``page`` of the rows ``stmt`` selects, in ``key`` order (the rows' ``id``),
    with the count of all the rows ``stmt`` selects.

    ``stmt`` carries the list's conditions — the caller's scope among them — and no order
    or limit of its own.
    """
    found = read_page(session, stmt, page, [SortKey(key)])
    return Rows(data=found.data, count=found.count, next_cursor=found.next_cursor)


def where_equal(
    stmt: sa.Select[Any], *filters: tuple[sa.ColumnElement[Any], Any]
) -> sa.Select[Any]:
    """``stmt`` narrowed by a list's filters: each ``(column, value)`` pair keeps the rows
    whose ``column`` equals ``value``; a ``None`` value is a filter not asked for."""
    return stmt.where(*(column == value for column, value in filters if value is not None))


def page_params(
    settings: SettingsDep,
    limit: Annotated[
        int, Query(ge=1, description="Rows per page (at most RAPPORT_MAX_PAGE_SIZE).")
    ] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None, Query(max_length=128, description="next_cursor of the previous page.")
    ] = None,
) -> PageRequest:
    if limit > settings.max_page_size:
        raise ApiError(
            422,
            "validation_failed",
            f"query.limit: at most {settings.max_page_size} rows per page",
            field="query.limit",
            value=limit,
            hint=f"use a limit from 1 to {settings.max_page_size} and follow next_cursor",
        )
    after = decode_cursor(cursor, field=CURSOR_FIELD) if cursor else None
    return PageRequest(limit=limit, after=after, field=CURSOR_FIELD)


PageDep = Annotated[PageRequest, Depends(page_params)]
