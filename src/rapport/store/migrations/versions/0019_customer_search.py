"""The customers' searched text in a narrow table, kept by triggers, for the text search.

The text search (:func:`rapport.store.customers.search_select`: name, phone, e-mail,
customer number, tags) read every customer's wide row and applied five conditions to it,
the tags' JSON list element by element: at 1,000,000 customers 0.5–0.9 s on SQLite and
1.7–3.0 s on PostgreSQL for a text few customers have. ``customer_search`` holds one short
row per customer, the five fields lower-cased and joined by the unit separator (``\\x1f``),
so the search first finds its candidates there, then applies the same exact conditions to
those customers alone:

* on SQLite, ``instr`` over the narrow rows;
* on PostgreSQL, ``LIKE`` over them, which reads the trigram index
  ``ix_customer_search_doc_trgm`` (extension ``pg_trgm``) when the text has three
  characters or more. Where the extension cannot be created (a server without it, a user
  not allowed to) the index is left out with a warning and the search reads the rows.

The triggers write the row when a customer is inserted and when one of the five columns is
updated (an import, an API change, an erasure: no erased text stays searchable); the
foreign key deletes it with the customer. The upgrade fills it for the customers stored.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: The searched columns, in the order the text joins them.
FIELDS = ("name", "phone", "email", "external_id", "tags")


def _doc_sqlite(row: str) -> str:
    parts = " || char(31) || ".join(f"coalesce({row}.{f}, '')" for f in FIELDS)
    return f"lower({parts})"


def _doc_postgresql(row: str) -> str:
    parts = ", ".join(f"coalesce({row}.{f}{'::text' if f == 'tags' else ''}, '')" for f in FIELDS)
    return f"lower(concat_ws(chr(31), {parts}))"


def upgrade() -> None:
    op.create_table(
        "customer_search",
        sa.Column(
            "customer_id",
            sa.Integer,
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "doc",
            sa.Text,
            nullable=False,
            comment="lower(name, phone, email, external_id, tags as JSON text), unit-separated",
        ),
        comment="each customer's searched text in one narrow row, kept by triggers on "
        "customers (migration 0019): the text search reads it to find its candidates",
    )
    columns = ", ".join(FIELDS)
    if op.get_context().dialect.name == "sqlite":
        doc = _doc_sqlite("new")
        for event, name in (("INSERT", "insert"), (f"UPDATE OF {columns}", "update")):
            op.execute(
                f"CREATE TRIGGER customers_search_{name} AFTER {event} ON customers BEGIN "
                f"INSERT OR REPLACE INTO customer_search (customer_id, doc) "
                f"VALUES (new.id, {doc}); END"
            )
        op.execute(
            f"INSERT INTO customer_search (customer_id, doc) "
            f"SELECT id, {_doc_sqlite('customers')} FROM customers"
        )
        return
    op.execute(
        "CREATE FUNCTION customers_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO customer_search (customer_id, doc) VALUES (NEW.id, {_doc_postgresql('NEW')}) "
        "ON CONFLICT (customer_id) DO UPDATE SET doc = EXCLUDED.doc; RETURN NULL; END $$"
    )
    op.execute(
        f"CREATE TRIGGER customers_search AFTER INSERT OR UPDATE OF {columns} ON customers "
        "FOR EACH ROW EXECUTE FUNCTION customers_search_doc()"
    )
    op.execute(
        f"INSERT INTO customer_search (customer_id, doc) "
        f"SELECT id, {_doc_postgresql('customers')} FROM customers"
    )
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        log.warning(
            "pg_trgm is not available (%s): the text search reads customer_search row "
            "by row instead of a trigram index. To add it, as a superuser: CREATE EXTENSION "
            "pg_trgm; CREATE INDEX ix_customer_search_doc_trgm ON customer_search USING gin "
            "(doc gin_trgm_ops);",
            str(exc.orig).strip().splitlines()[0],
        )
        return
    op.execute(
        "CREATE INDEX ix_customer_search_doc_trgm ON customer_search USING gin (doc gin_trgm_ops)"
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS customers_search_update")
        op.execute("DROP TRIGGER IF EXISTS customers_search_insert")
    else:
        op.execute("DROP TRIGGER IF EXISTS customers_search ON customers")
        op.execute("DROP FUNCTION IF EXISTS customers_search_doc()")
    op.drop_table("customer_search")
