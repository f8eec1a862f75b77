"""The tables the workspace downloads (:mod:`rapport.web.views.exports`), grouped by page:
:mod:`~rapport.web.export_tables.customers` (the customers page and the 360 card's
timeline, loyalty ledger and vouchers), :mod:`~rapport.web.export_tables.people`
(diamonds, the worklist, the service queue, the staff accounts),
:mod:`~rapport.web.export_tables.work` (the open tasks, the alerts, a ticket's history),
:mod:`~rapport.web.export_tables.admin` (the Data page's jobs and preview rows, the
business rules), :mod:`~rapport.web.export_tables.snapshot` (the tables of a score
snapshot on the overview and the analysis page) and
:mod:`~rapport.web.export_tables.analyses` (the metrics and the analyses run in a worker).

Each table is a *reader* ``(request, user, fmt, limit) -> Exported``: the page's product
function with the page's arguments, and the columns the page shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request

from rapport.access import Principal
from rapport.reports.tables import TableColumn
from rapport.web.i18n import Formatter


@dataclass(frozen=True)
class Exported:
    columns: list[TableColumn]
    rows: Iterable[Mapping[str, Any]]
    masked: bool


#: ``(request, user, fmt, limit) -> Exported``; the rows are lazy and may hold one row
#: more than ``limit`` (the sign that the list was cut).
Reader = Callable[[Request, Principal, Formatter, int], Exported]


_Row = TypeVar("_Row")


def every_page(read: Callable[[Any], tuple[Iterable[_Row], Any]], limit: int) -> Iterator[_Row]:
    """The rows of a list read by keyset pages, the first page's first: ``read(after)``
    (``after`` is ``None`` for the first page) answers a page's rows and the key of the
    next page (``None`` or empty after the last). No further page is read once more than
    ``limit`` rows are given (the sign that the list was cut)."""
    after: Any = None
    given = 0
    while given <= limit:
        rows, after = read(after)
        for row in rows:
            yield row
            given += 1
        if after is None or after == "":
            return


def label_cell(text: str) -> str | None:
    """A label as a cell: the screen's dash for "none" is an empty cell."""
    return None if text == Formatter.DASH else text


def fraction(key: str) -> Callable[[Mapping[str, Any]], float | None]:
    """A share the reports give in percent (0–100), as the fraction a percent cell holds."""
    return lambda r: None if r[key] is None else r[key] / 100


def enum_label(fmt: Formatter, key: str) -> Callable[[Mapping[str, Any]], str | None]:
    """An enumeration's code as its label in the user's language (an empty cell for none)."""
    return lambda r: None if r[key] is None else fmt.enum(r[key])


__all__ = ["Exported", "Reader", "enum_label", "every_page", "fraction", "label_cell"]
