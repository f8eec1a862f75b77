"""The download links of a page's table (``export_links.html``): the addresses of
:mod:`rapport.web.views.exports` with the page's own query."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from rapport.reports.tables import ROW_LIMIT
from rapport.web import render

#: The formats offered.
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class ExportLinks:
    """What ``export_links.html`` shows: the two addresses and the most rows a file holds."""

    csv: str
    xlsx: str
    limit: int = ROW_LIMIT


def export_links(table: str, kept: Mapping[str, str]) -> ExportLinks:
    """The download addresses of ``table`` with the page's query ``kept`` (its filters and
    sort; never its cursor: a download starts from the first row)."""
    values = {k: v for k, v in kept.items() if k not in ("after", "cursor", "limit")}
    query = "?" + urlencode(values) if values else ""
    return ExportLinks(csv=f"/exports/{table}.csv{query}", xlsx=f"/exports/{table}.xlsx{query}")


# Templates whose view passes no links call it themselves: ``export_links("groups", {...})``.
render.environment.globals["export_links"] = export_links
