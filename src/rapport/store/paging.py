"""Keyset paging: a list read one page at a time, the same way for every adapter.

A list is read in a total order — its sort keys, the last of them unique (the row's id) —
and a page starts *after the key of the previous page's last row*, never at an offset.
Rows inserted or deleted meanwhile never shift a page, so walking a list page by page
visits every row that existed throughout exactly once. A page reads one row more than it
holds, which tells whether a next page exists; the key of its last row is where the next
one starts.

Clients carry that key as an opaque cursor (:func:`encode_cursor`, URL-safe base64); the
API's adapter is :mod:`rapport.api.pagination`, the command line passes an id itself
(``rapport audit --before``). The two ways a list is read:

* :func:`read_page` — one page of any select, with the count of all its rows;
* :attr:`PageRequest.fetch` and :meth:`PageRequest.cut` — for a list whose rows come from a
  store function that takes a limit and a starting key (the audit log, newest first).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import ValidationFailed

if TYPE_CHECKING:  # the repository reads its pages with beyond()
    from rapport.store.repository import Row

#: A row's position in its list: the values of the list's sort keys.
Key = tuple[Any, ...]

#: Ids are 32-bit integers in the store; a cursor beyond them was not issued here.
MAX_ID = 2**31 - 1
#: A cursor of a list in id order (the key is one id): ``id:<id>``, as issued since the
#: first release. Any other key: ``k:`` and the key as a JSON array.
_ID_PREFIX = "id:"
_KEY_PREFIX = "k:"
_KEY_LABEL = "_page_key_{}"


def _refused(cursor: Any, field: str) -> ValidationFailed:
    return ValidationFailed(
        "{field}: not a cursor this list issued",
        field=field,
        value=cursor,
        hint="pass the next_cursor of the previous page unchanged, or leave it out",
        key="cursor_refused",
        params={"field": field},
        hint_key="worklist_cursor.hint",
    )


def _plain(value: Any) -> Any:
    """A key value as JSON: decimals and dates as text (read back by the key's type)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a sort key must be finite, not {value}")
    return value


def encode_cursor(key: Key) -> str:
    """The opaque cursor of ``key``: URL-safe base64, without padding."""
    if len(key) == 1 and isinstance(key[0], int) and not isinstance(key[0], bool):
        text = f"{_ID_PREFIX}{key[0]}"
    else:
        text = _KEY_PREFIX + json.dumps(
            [_plain(v) for v in key], ensure_ascii=True, allow_nan=False, separators=(",", ":")
        )
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, *, field: str = "cursor") -> Key:
    """The key a cursor of :func:`encode_cursor` carries, its values as JSON has them
    (:func:`read_page` reads them as the list's key types).

    Raises
    ------
    ValidationFailed
        Naming ``field``, when ``cursor`` is not such a cursor.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        if text.startswith(_ID_PREFIX):
            value = int(text[len(_ID_PREFIX) :])
            if not 0 <= value <= MAX_ID:
                raise ValueError(text)
            return (value,)
        if not text.startswith(_KEY_PREFIX):
            raise ValueError(text)
        key = json.loads(text[len(_KEY_PREFIX) :], parse_constant=_no_constant)
        if not isinstance(key, list) or not key:
            raise ValueError(text)
        if not all(v is None or isinstance(v, int | float | str) for v in key):
            raise ValueError(text)
        return tuple(key)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise _refused(cursor, field) from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is no sort key")


@dataclass(frozen=True)
class SortKey:
    """One key of a list's order: a column (or expression) of the list's select, never
    null (``coalesce`` a nullable one), and its direction."""

    column: sa.ColumnElement[Any]
    descending: bool = False

    def typed(self, value: Any) -> Any:
        """``value`` of a decoded cursor as this key's Python type (``ValueError`` if it
        cannot be one)."""
        kind = self.column.type.python_type
        if kind is bool or value is None or isinstance(value, bool):
            raise ValueError(value)
        if kind is int:
            if not isinstance(value, int) or not -(2**63) <= value < 2**63:
                raise ValueError(value)
            return value
        if kind is float:
            if not isinstance(value, int | float):
                raise ValueError(value)
            return float(value)
        if kind is Decimal:
            try:
                number = Decimal(str(value))
            except InvalidOperation as exc:
                raise ValueError(value) from exc
            if not number.is_finite():
                raise ValueError(value)
            return number
        if kind is dt.datetime and isinstance(value, str):
            return dt.datetime.fromisoformat(value)
        if kind is dt.date and isinstance(value, str):
            return dt.date.fromisoformat(value)
        if kind is str and isinstance(value, str):
            return value
        raise ValueError(value)


def beyond(order: Sequence[SortKey], key: Key) -> sa.ColumnElement[bool]:
    """The rows after ``key`` in ``order``: ``(a, b) > (a0, b0)`` written out as
    ``a > a0 OR (a = a0 AND b > b0)`` (with ``<`` for descending keys), which every
    store plans well and which mixes directions."""
    if len(key) != len(order):
        raise ValueError(f"a key of {len(order)} values, not {len(key)}")
    alternatives: list[sa.ColumnElement[bool]] = []
    for i, sort in enumerate(order):
        ties = [order[j].column == key[j] for j in range(i)]
        past = sort.column < key[i] if sort.descending else sort.column > key[i]
        alternatives.append(sa.and_(*ties, past))
    return sa.or_(*alternatives)


def by_id(row: Row) -> Key:
    """The key of a row of a list in id order."""
    return (row["id"],)


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, the count of all the list's rows (on every page) and
    the key after which the next page starts (``None``: this is the last)."""

    data: list[Row] = field(default_factory=list)
    count: int = 0
    next_key: Key | None = None

    @property
    def next_cursor(self) -> str | None:
        return None if self.next_key is None else encode_cursor(self.next_key)


@dataclass(frozen=True)
class PageRequest:
    """The page a caller asks for: ``limit`` rows after the row whose key is ``after``
    (``None``: from the first row). ``field`` names the cursor in errors, as the caller's
    users know it (the API's ``query.cursor``)."""

    limit: int
    after: Key | None = None
    field: str = "cursor"

    @property
    def fetch(self) -> int:
        """Rows to read: one more than the page holds, which tells whether a next exists."""
        return self.limit + 1

    def cut(self, rows: list[Row], *, count: int = 0, key: Callable[[Row], Key] = by_id) -> Page:
        """The page among ``rows`` (at most :attr:`fetch` rows read in the list's order
        from ``after``) of a list of ``count`` rows (0 for a list that is not counted),
        the key of the next page's start taken by ``key``."""
        if len(rows) <= self.limit:
            return Page(data=rows, count=count)
        shown = rows[: self.limit]
        return Page(data=shown, count=count, next_key=key(shown[-1]))

    def start(self, order: Sequence[SortKey]) -> Key | None:
        """:attr:`after` as values of ``order``'s keys.

        Raises
        ------
        ValidationFailed
            Naming :attr:`field`, when ``after`` is no key of ``order`` (a cursor of
            another list).
        """
        if self.after is None:
            return None
        if len(self.after) != len(order):
            raise _refused(encode_cursor(self.after), self.field)
        try:
            return tuple(sort.typed(v) for sort, v in zip(order, self.after, strict=True))
        except (ValueError, TypeError) as exc:
            raise _refused(encode_cursor(self.after), self.field) from exc


def read_page(
    session: Session,
    stmt: sa.Select[Any],
    page: PageRequest,
    order: Sequence[SortKey],
) -> Page:
    """The page ``page`` of the rows ``stmt`` selects, in ``order``, with the count of all
    the rows ``stmt`` selects.

    ``stmt`` carries the list's conditions — the caller's scope among them — and no order
    or limit of its own; ``order`` ends in a unique key. The rows are ``stmt``'s columns;
    the keys are read alongside them, so the next page starts exactly where the database
    says this one ended.
    """
    counted = sa.select(sa.func.count()).select_from(stmt.subquery())
    count = session.execute(counted).scalar_one()
    start = page.start(order)
    if start is not None:
        stmt = stmt.where(beyond(order, start))
    labels = [_KEY_LABEL.format(i) for i in range(len(order))]
    stmt = (
        stmt.add_columns(*(s.column.label(name) for s, name in zip(order, labels, strict=True)))
        .order_by(*(s.column.desc() if s.descending else s.column.asc() for s in order))
        .limit(page.fetch)
    )
    rows = [dict(r) for r in session.execute(stmt).mappings()]
    cut = page.cut(rows, count=count, key=lambda r: tuple(r[name] for name in labels))
    for row in cut.data:
        for name in labels:
            del row[name]
    return cut


__all__ = [
    "MAX_ID",
    "Key",
    "Page",
    "PageRequest",
    "SortKey",
    "beyond",
    "by_id",
    "decode_cursor",
    "encode_cursor",
    "read_page",
]
