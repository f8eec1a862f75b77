"""The customers' searched text in a narrow table, kept by triggers, for the text search.

The text search (:func:`rapport.store.customers.search_select`: name, phone, e-mail,
customer number, tags) read every customer's wide row and applied five conditions to it,
the tags' JSON list element by element: at 1,000,000 customers 0.5–0.9 s on SQLite and
1.7–3.0 s on PostgreSQL for a text few customers have. ``customer_search`` holds one short
row per customer, the five fields lower-cased, each followed by the unit separator (``\\x1f``),
so the search first finds its candidates there, then applies the same exact conditions to
those customers alone:

* on SQLite, in ``customer_search_fts``, an FTS5 index of every three characters of the
  rows (tokenizer ``trigram``, ``detail='none'``; external content: the text is kept once,
  in ``customer_search``): a text of three characters or more by its three-character
  pieces, a text of two by the indexed pieces it starts (``customer_search_terms``, the
  index's table of terms); a text of one character reads the narrow rows with ``instr``;
* on PostgreSQL, ``LIKE`` over them, which reads the trigram index
  ``ix_customer_search_doc_trgm`` (extension ``pg_trgm``) when the text has three
  characters or more. Where the extension cannot be created (a server without it, a user
  not allowed to) the index is left out with a warning and the search reads the rows.

Triggers on ``customers`` write the row when a customer is inserted and when one of the
five columns changes (an import, an API change, an erasure: no erased text stays
searchable), and delete it with the customer; on SQLite, triggers on ``customer_search``
keep the full-text index. The upgrade fills both for the customers stored.

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
#: SQLite: the trigram full-text index of ``customer_search`` and its table of terms.
FTS = "customer_search_fts"
TERMS = "customer_search_terms"


def _doc_sqlite(row: str) -> str:
    parts = " || ".join(f"coalesce({row}.{f}, '') || char(31)" for f in FIELDS)
    return f"lower({parts})"


def _doc_postgresql(row: str) -> str:
    parts = ", ".join(f"coalesce({row}.{f}{'::text' if f == 'tags' else ''}, '')" for f in FIELDS)
    return f"lower(concat_ws(chr(31), {parts}, ''))"


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
            comment="lower(name, phone, email, external_id, tags as JSON text), each + char 31",
        ),
        comment="each customer's searched text in one narrow row, kept by triggers on "
        "customers (migration 0019): the text search reads it to find its candidates",
    )
    columns = ", ".join(FIELDS)
    if op.get_context().dialect.name == "sqlite":
        _upgrade_sqlite(columns)
        return
    op.execute(
        "CREATE FUNCTION customers_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO customer_search (customer_id, doc) VALUES (NEW.id, {_doc_postgresql('NEW')}) "
        "ON CONFLICT (customer_id) DO UPDATE SET doc = EXCLUDED.doc "
        "WHERE customer_search.doc IS DISTINCT FROM EXCLUDED.doc; RETURN NULL; END $$"
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


def _upgrade_sqlite(columns: str) -> None:
    doc = _doc_sqlite("new")
    op.execute(
        "CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN "
        f"INSERT INTO customer_search (customer_id, doc) VALUES (new.id, {doc}); END"
    )
    op.execute(
        f"CREATE TRIGGER customers_search_update AFTER UPDATE OF {columns} ON customers BEGIN "
        f"UPDATE customer_search SET doc = {doc} "
        f"WHERE customer_id = new.id AND doc IS NOT {doc}; END"
    )
    # the foreign key's cascade, also where a connection runs without foreign keys
    op.execute(
        "CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN "
        "DELETE FROM customer_search WHERE customer_id = old.id; END"
    )
    op.execute(
        f"INSERT INTO customer_search (customer_id, doc) "
        f"SELECT id, {_doc_sqlite('customers')} FROM customers"
    )
    op.execute(
        f"CREATE VIRTUAL TABLE {FTS} USING fts5(doc, content='customer_search', "
        "content_rowid='customer_id', tokenize='trigram', detail='none')"
    )
    op.execute(f"CREATE VIRTUAL TABLE {TERMS} USING fts5vocab('{FTS}', 'row')")
    op.execute(f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')")
    added = f"INSERT INTO {FTS} (rowid, doc) VALUES (new.customer_id, new.doc);"
    removed = f"INSERT INTO {FTS} ({FTS}, rowid, doc) VALUES ('delete', old.customer_id, old.doc);"
    for event, body in (("INSERT", added), ("DELETE", removed), ("UPDATE", removed + added)):
        op.execute(
            f"CREATE TRIGGER customer_search_fts_{event.lower()} AFTER {event} "
            f"ON customer_search BEGIN {body} END"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS customer_search_fts_{event}")
            op.execute(f"DROP TRIGGER IF EXISTS customers_search_{event}")
        op.execute(f"DROP TABLE IF EXISTS {TERMS}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
    else:
        op.execute("DROP TRIGGER IF EXISTS customers_search ON customers")
        op.execute("DROP FUNCTION IF EXISTS customers_search_doc()")
    op.drop_table("customer_search")
