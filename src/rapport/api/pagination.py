"""Stable cursor pagination shared by every list route.

Lists are ordered by id, and a page's ``next_cursor`` encodes the last id it returned; the
next page starts after that id. Rows inserted or deleted meanwhile never shift a page, so
walking a list with cursors visits every row that existed throughout exactly once. The
cursor is opaque to clients (URL-safe base64); ``limit`` is 1 … ``RAPPORT_MAX_PAGE_SIZE``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from rapport.api.deps import SettingsDep
from rapport.api.errors import ApiError

DEFAULT_PAGE_SIZE = 50
#: Ids are 32-bit integers in the store; a cursor beyond them was not issued here.
MAX_ID = 2**31 - 1
_CURSOR_PREFIX = "id:"


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
    limit: int
    after_id: int | None


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
