"""``benchmarks.build_store --postgres``: the benchmark company loaded into PostgreSQL holds
exactly the canonical Parquet's rows, read back as the product reads them, in exactly the
migrated schema; a loaded store is refused and a failed load leaves nothing behind.

The company is small (200 customers); a few canonical values are changed first so that the
load meets cents, microseconds and JSON objects, which the sample itself hardly has.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from benchmarks.build_store import (
    _sources,
    build_postgres,
    check,
    pg_load_order,
    pg_set_aside,
)
from sqlalchemy.engine import make_url

from rapport.analytics.tables import SCHEMAS
from rapport.store import schema
from rapport.store.db import create_engine, upgrade
from rapport.store.types import is_json
from tests.conftest import (
    POSTGRES_ONLY,
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
)

pytestmark = POSTGRES_ONLY

CUSTOMERS = 200
#: JSON documents given to a few customers' ``extra`` (the sample leaves it empty).
EXTRA = '{"zeta": [1, 2.5, "二"], "a": {"nested": true, "none": null}}'


def _rewrite(path: Path, select: str) -> None:
    """Replace the Parquet file ``path`` by ``select`` over its own rows (``src``)."""
    partial = path.with_suffix(".partial.parquet")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet('{path}')")
        con.execute(f"COPY ({select}) TO '{partial}' (FORMAT parquet)")
    finally:
        con.close()
    partial.replace(path)


@pytest.fixture(scope="module")
def canonical_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding a small company's import files and canonical Parquet."""
    data = tmp_path_factory.mktemp("bench")
    _, canonical = _sources(data, CUSTOMERS)
    _rewrite(
        canonical / "orders.parquet",
        "SELECT * REPLACE (gross_amount + 0.37 AS gross_amount, net_amount + 0.37 AS net_amount,"
        " ordered_at + INTERVAL '123457 microseconds' AS ordered_at) FROM src ORDER BY id",
    )
    _rewrite(
        canonical / "customers.parquet",
        f"SELECT * REPLACE (CASE WHEN id % 7 = 0 THEN '{EXTRA}' END AS extra) FROM src ORDER BY id",
    )
    return data


@pytest.fixture(scope="module")
def base_url() -> str:
    """The URL of the test server's database beside which the tests create their own."""
    base = postgres_url()
    assert base is not None
    return base


@pytest.fixture(scope="module")
def loaded(canonical_data: Path, base_url: str) -> Iterator[str]:
    """The URL of a database that did not exist, created and filled by the benchmark."""
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    url = make_url(base_url).set(drivername="postgresql+psycopg", database=name)
    rendered = url.render_as_string(hide_password=False)
    try:
        build_postgres(canonical_data, canonical_data / "canonical", rendered)
        yield rendered
    finally:
        drop_postgres_database(base_url, rendered)


def _canonical_value(column: sa.Column, value: Any) -> Any:
    """A canonical Parquet value as the product reads it from the store."""
    if value is None:
        return None
    kind = column.type
    if is_json(kind):
        return json.loads(value)
    if isinstance(kind, sa.Float):
        return value
    if isinstance(kind, sa.Numeric):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC)
    return value


def test_every_value_is_stored_as_the_product_stores_it(canonical_data: Path, loaded: str) -> None:
    engine = create_engine(loaded)
    try:
        with engine.connect() as conn:
            for name in SCHEMAS:
                table = schema.metadata.tables[name]
                keys = list(table.primary_key.columns)
                got = [row._asdict() for row in conn.execute(sa.select(table).order_by(*keys))]
                rows = pq.read_table(canonical_data / "canonical" / f"{name}.parquet").to_pylist()
                want = [
                    {c.name: _canonical_value(c, row[c.name]) for c in table.columns}
                    for row in sorted(rows, key=lambda r: tuple(r[k.name] for k in keys))
                ]
                assert got == want, name
            cents = conn.execute(
                sa.select(sa.func.count()).where(schema.orders.c.net_amount % 1 == Decimal("0.37"))
            ).scalar_one()
            documents = conn.exec_driver_sql(
                "SELECT count(*) FROM customers WHERE jsonb_typeof(extra) = 'object'"
            ).scalar_one()
    finally:
        engine.dispose()
    assert cents > 0
    assert documents == CUSTOMERS // 7


def test_the_row_counts_check_passes(canonical_data: Path, loaded: str) -> None:
    check(canonical_data, postgres=loaded)


def test_the_schema_is_the_migrated_one(loaded: str, base_url: str) -> None:
    fresh = create_postgres_database(base_url)
    try:
        engines = [create_engine(fresh), create_engine(loaded)]
        upgrade(engines[0])
        catalogs = []
        for engine in engines:
            with engine.connect() as conn:
                catalogs.append(pg_set_aside(conn, pg_load_order()))
            engine.dispose()
    finally:
        drop_postgres_database(base_url, fresh)
    assert catalogs[1] == catalogs[0]
    assert catalogs[1].keys and catalogs[1].indexes and catalogs[1].foreign_keys


def test_new_rows_get_ids_past_the_loaded_ones(loaded: str) -> None:
    engine = create_engine(loaded)
    now = dt.datetime.now(dt.UTC)
    c = schema.customers.c
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            largest = conn.execute(sa.select(sa.func.max(c.id))).scalar_one()
            new = conn.execute(
                sa.insert(schema.customers)
                .values(external_id="NEW-CUSTOMER", created_at=now, updated_at=now)
                .returning(c.id)
            ).scalar_one()
            transaction.rollback()
    finally:
        engine.dispose()
    assert largest == CUSTOMERS
    assert new == largest + 1


def test_a_store_holding_customers_is_refused(canonical_data: Path, loaded: str) -> None:
    with pytest.raises(SystemExit, match="already holds data"):
        build_postgres(canonical_data, canonical_data / "canonical", loaded)


def test_a_failed_load_leaves_the_store_migrated_and_empty(
    canonical_data: Path, loaded: str, base_url: str, tmp_path: Path
) -> None:
    broken = tmp_path / "canonical"
    broken.mkdir()
    for path in (canonical_data / "canonical").iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    _rewrite(  # an order of no customer: its foreign key fails after everything is loaded
        broken / "orders.parquet",
        "SELECT * REPLACE (CASE WHEN id = 1 THEN 999999 ELSE customer_id END AS customer_id)"
        " FROM src ORDER BY id",
    )
    url = create_postgres_database(base_url)
    try:
        with pytest.raises(sa.exc.IntegrityError, match="fk_orders_customer_id_customers"):
            build_postgres(canonical_data, broken, url)
        engine = create_engine(url)
        with engine.connect() as conn:
            counts = {
                t: conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar_one() for t in SCHEMAS
            }
            aside = pg_set_aside(conn, pg_load_order())
        engine.dispose()
    finally:
        drop_postgres_database(base_url, url)
    engine = create_engine(loaded)
    with engine.connect() as conn:
        migrated = pg_set_aside(conn, pg_load_order())
    engine.dispose()
    assert set(counts.values()) == {0}
    assert aside == migrated
