"""What every API body shares: the page of a list, and text and JSON documents that every
store accepts.

Every list answers one :class:`Page`: ``data`` (the rows of this page), ``count`` (the rows
matching the query in the caller's scope, across all pages) and ``next_cursor``.

Text is refused when it holds a NUL character or an unpaired surrogate (no database
stores them; PostgreSQL refuses NUL in text), JSON documents when they hold non-finite
numbers (not JSON) or exceed 16 KiB, and times when they carry no zone or leave the
calendar once converted to UTC — each as a 422 naming the field path.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    GetCoreSchemaHandler,
    StringConstraints,
)
from pydantic_core import core_schema

MAX_INT32 = 2**31 - 1
MAX_JSON_CHARS = 16_384

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list (see :mod:`rapport.api.pagination`). Each list names its own
    subclass (``class TicketsPublic(Page[TicketPublic])``), so that the OpenAPI document
    keeps one named schema per list."""

    data: list[T]
    count: int = Field(
        description="Rows matching the query (in your scope, where one applies), across all pages."
    )
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null: this is the last page."
    )


def check_text(value: str) -> str:
    """Refuse text no database stores: NUL characters and unpaired surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text (no unpaired surrogates)") from exc
    return value


def check_json(value: Any) -> Any:
    """Refuse JSON documents with unsafe text, non-finite numbers, or too big to store."""

    def walk(node: Any) -> None:
        if isinstance(node, str):
            check_text(node)
        elif isinstance(node, float) and not math.isfinite(node):
            raise ValueError("numbers must be finite")
        elif isinstance(node, dict):
            for key, item in node.items():
                walk(key)
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    if value is not None and len(repr(value)) > MAX_JSON_CHARS:
        raise ValueError(f"a JSON document of at most {MAX_JSON_CHARS} characters")
    return value


def check_time(value: dt.datetime) -> dt.datetime:
    """An aware time that converts to UTC (times at the edge of the calendar do not)."""
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError("out of range once converted to UTC") from exc


@dataclass(frozen=True)
class Text:
    """Text of ``min_length`` to ``max_length`` characters that every store accepts (no NUL,
    no unpaired surrogate), as the metadata of a ``str``: ``Annotated[str, Text(128)]``."""

    max_length: int
    min_length: int = 0

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        limits = StringConstraints(min_length=self.min_length, max_length=self.max_length)
        return handler.generate_schema(Annotated[source, limits, AfterValidator(check_text)])


Time = Annotated[AwareDatetime, AfterValidator(check_time)]
