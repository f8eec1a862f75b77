"""CSV exports of customers for marketing: the one column set and the one writer that the
marketing list (``GET /customers/export``) and a campaign's audience
(``GET /campaigns/{id}/audience``) share."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from fastapi import Response
from sqlalchemy.orm import Session

from rapport.ingest.spreadsheet import neutralise, neutralise_cell
from rapport.store import schema

#: Columns of a marketing export, in order.
EXPORT_COLUMNS = (
    "id",
    "external_id",
    "name",
    "email",
    "phone",
    "wechat_id",
    "country",
    "province",
    "city",
    "tags",
)

#: The OpenAPI answer of a route that sends :func:`customers_csv`.
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "CSV (UTF-8 with BOM, so that Excel reads Chinese correctly)",
    }
}

_c = schema.customers.c


def csv_cells(row: sa.Row) -> Iterator[Any]:
    """The cells of one CSV export row: lists joined by ``;``, ``None`` empty, and text
    neutralised against formula injection (``=…`` → ``'=…``, see
    :mod:`rapport.ingest.spreadsheet`)."""
    for value in row:
        if isinstance(value, list):
            yield neutralise(";".join(str(v) for v in value))
        else:
            yield "" if value is None else neutralise_cell(value)


def customers_csv(
    session: Session, conditions: list[sa.ColumnElement[bool]], filename: str
) -> tuple[Response, int]:
    """The customers meeting ``conditions`` (on ``customers``), in id order, as a CSV
    download (UTF-8 with BOM, so that Excel reads Chinese correctly), and how many rows it
    holds."""
    stmt = sa.select(*(_c[n] for n in EXPORT_COLUMNS)).where(*conditions).order_by(_c.id)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in session.execute(stmt):
        writer.writerow(csv_cells(row))
        count += 1
    response = Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    return response, count
