"""Bulk reads and writes of one batch, by backend: the fast paths of the importer.

SQLite gets ``executemany`` of values already in SQLAlchemy's storage format; PostgreSQL
gets ``COPY … FROM STDIN`` for inserts. Key lookups go through a temporary table joined to
the target, so a batch of 100,000 keys costs one query.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Sequence

import polars as pl
import sqlalchemy as sa

SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"


class BulkWriter:
    """Batch operations on one connection (inside the batch's transaction)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    # --- lookups -------------------------------------------------------------------------

    def _key_table(self, columns: Sequence[sa.Column], frame: pl.DataFrame) -> sa.Table:
        name = f"_rapport_keys_{uuid.uuid4().hex[:8]}"
        temp = sa.Table(
            name,
            sa.MetaData(),
            *[sa.Column(f"k{i}", c.type) for i, c in enumerate(columns)],
            prefixes=["TEMPORARY"],
        )
        temp.create(self.conn)
        self.insert(temp, frame.rename(dict(zip(frame.columns, temp.c.keys(), strict=True))))
        return temp

    def lookup(
        self,
        table: sa.Table,
        key_columns: Sequence[str],
        keys: pl.DataFrame,
        columns: Sequence[str] = ("id",),
        *,
        where: sa.ColumnElement[bool] | None = None,
    ) -> list[sa.Row]:
        """Rows of ``table`` whose ``key_columns`` equal a row of ``keys`` (distinct), and
        that meet ``where`` (one text key only)."""
        keys = keys.unique()
        if keys.height == 0:
            return []
        targets = [table.c[k] for k in key_columns]
        selected = [*targets, *[table.c[c] for c in columns]]
        if len(targets) == 1 and keys.dtypes[0] == pl.Utf8:
            # one text key: the whole key list travels as one parameter
            stmt = sa.select(*selected).where(self._in_keys(targets[0], keys.to_series()))
            if where is not None:
                stmt = stmt.where(where)
            return list(self.conn.execute(stmt))
        if where is not None:
            raise ValueError("a condition is only supported with one text key")
        temp = self._key_table(targets, keys)
        try:
            condition = sa.and_(*[t == temp.c[f"k{i}"] for i, t in enumerate(targets)])
            stmt = sa.select(*targets, *[table.c[c] for c in columns]).join_from(
                table, temp, condition
            )
            return list(self.conn.execute(stmt))
        finally:
            temp.drop(self.conn)

    def _in_keys(self, column: sa.Column, values: pl.Series) -> sa.ColumnElement[bool]:
        """``column`` is one of ``values`` (text), the whole list as one parameter."""
        if self.dialect == "sqlite":
            listed = sa.select(sa.column("value")).select_from(
                sa.func.json_each(sa.bindparam("keys", json.dumps(values.to_list())))
            )
            return column.in_(listed.scalar_subquery())
        return column == sa.func.any(
            sa.bindparam("keys", values.to_list(), type_=sa.ARRAY(sa.Text))
        )

    def resolve_ids(
        self,
        table: sa.Table,
        key: str,
        keys: pl.Series,
        *,
        where: sa.ColumnElement[bool] | None = None,
    ) -> pl.DataFrame:
        """``k`` → ``id`` of the rows of ``table`` whose text column ``key`` is in ``keys``
        (and that meet ``where``: the others read as missing)."""
        if where is not None:
            unique = keys.drop_nulls().unique()
            stmt = sa.select(table.c[key], table.c.id).where(
                self._in_keys(table.c[key], unique), where
            )
            rows = self.conn.execute(stmt).fetchall() if unique.len() else []
            return pl.DataFrame(
                [tuple(r) for r in rows], schema={"k": pl.Utf8, "id": pl.Int64}, orient="row"
            )
        wanted = json.dumps(keys.drop_nulls().unique().to_list(), ensure_ascii=False)
        if self.dialect == "sqlite":
            sql = (
                f'SELECT "{key}", id FROM "{table.name}" '
                f'WHERE "{key}" IN (SELECT value FROM json_each(?))'
            )
        else:
            sql = (
                f'SELECT "{key}", id FROM "{table.name}" '
                f'WHERE "{key}" = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))'
            )
        rows = self.conn.exec_driver_sql(sql, (wanted,)).fetchall()
        return pl.DataFrame(rows, schema={"k": pl.Utf8, "id": pl.Int64}, orient="row")

    # --- writes --------------------------------------------------------------------------

    def _storage(self, frame: pl.DataFrame, table: sa.Table) -> pl.DataFrame:
        """Convert typed columns to what the driver stores (SQLite) or COPY reads (PG)."""
        exprs = []
        for name, dtype in frame.schema.items():
            col = pl.col(name)
            if isinstance(dtype, pl.Datetime):
                fmt = SQLITE_DATETIME if self.dialect == "sqlite" else SQLITE_DATETIME + "+00"
                exprs.append(col.dt.convert_time_zone("UTC").dt.strftime(fmt))
            elif dtype == pl.Date:
                exprs.append(col.dt.strftime("%Y-%m-%d"))
            elif isinstance(dtype, pl.Decimal):
                exprs.append(col.cast(pl.Float64).round(2))
            elif dtype == pl.Boolean and self.dialect == "sqlite":
                exprs.append(col.cast(pl.Int64))
            else:
                exprs.append(col)
        return frame.select(exprs)

    def insert(self, table: sa.Table, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        data = self._storage(frame, table)
        columns = ", ".join(f'"{c}"' for c in data.columns)
        if self.dialect == "postgresql":
            buffer = io.BytesIO()
            data.write_csv(buffer, include_header=False, null_value="")
            raw = self.conn.connection.driver_connection
            with (
                raw.cursor() as cur,
                cur.copy(f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FORMAT csv)') as copy,
            ):
                copy.write(buffer.getvalue())
            return
        marks = ", ".join("?" for _ in data.columns)
        self.conn.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', data.rows()
        )

    def update(self, table: sa.Table, frame: pl.DataFrame) -> None:
        """Update rows by ``id``; ``frame`` holds ``id`` and the columns to set."""
        if frame.height == 0:
            return
        columns = [c for c in frame.columns if c != "id"]
        data = self._storage(frame.select([*columns, "id"]), table)
        mark = "?" if self.dialect == "sqlite" else "%s"
        sets = ", ".join(f'"{c}" = {mark}' for c in columns)
        if self.dialect == "postgresql":
            # COPY wrote text; here psycopg adapts Python values, JSON needs an explicit cast
            casts = {c: "::jsonb" for c in columns if isinstance(table.c[c].type, sa.JSON)}
            sets = ", ".join(f'"{c}" = %s{casts.get(c, "")}' for c in columns)
            data = frame.select([*columns, "id"])
        self.conn.exec_driver_sql(
            f'UPDATE "{table.name}" SET {sets} WHERE id = {mark}', _python_rows(data)
        )


def _python_rows(frame: pl.DataFrame) -> list[tuple]:
    return frame.rows()


__all__ = ["BulkWriter"]
