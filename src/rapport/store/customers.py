"""Customers: profiles, consent, ownership, soft delete."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import ValidationFailed
from rapport.store import schema
from rapport.store.repository import Repository, Row

repo = Repository(schema.customers, entity="customer", soft_delete=True)

_c = schema.customers.c


def marketable_clause() -> sa.ColumnElement[bool]:
    """The SQL condition on ``customers`` of a customer who may receive marketing: consent
    given, not opted out, not erased. (Whether deleted customers count is the caller's
    choice: lists leave them out on their own.)"""
    return sa.and_(
        _c.marketing_consent.is_(True),
        _c.marketing_opt_out.is_(False),
        _c.erased_at.is_(None),
    )


def marketing_refusal(customer: Row) -> str | None:
    """Why ``customer`` (a row of ``customers``) may not receive marketing, or ``None`` when
    they may — the rule of :func:`marketable_clause`, on a row already read."""
    if customer["erased_at"] is not None:
        return "was erased on request"
    if customer["marketing_opt_out"]:
        return "opted out of marketing"
    if not customer["marketing_consent"]:
        return "has not given marketing consent"
    return None


#: The escape character of the LIKE patterns built from users' text.
_ESCAPE = "\\"


#: Characters a JSON text writes escaped (so a text holding one may be written otherwise in
#: the JSON of a list of tags).
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f\x7f-\x9f\u2028\u2029]')


def _like_pattern(text: str) -> str:
    """``%text%`` with the LIKE wildcards and the escape character of ``text`` escaped."""
    for char in (_ESCAPE, "%", "_"):
        text = text.replace(char, _ESCAPE + char)
    return f"%{text}%"


def _tag_elements(session: Session) -> sa.TableValuedAlias:
    """The elements of each customer's ``tags`` list as text rows (column ``value``)."""
    if session.get_bind().dialect.name == "postgresql":
        tags = sa.case(
            (sa.func.jsonb_typeof(_c.tags) == "array", _c.tags),
            else_=sa.cast(sa.literal("[]"), _c.tags.type),
        )
        return sa.func.jsonb_array_elements_text(tags).table_valued("value")
    return sa.func.json_each(_c.tags).table_valued("value")


#: SQLite: the trigram full-text index of ``customer_search`` and its table of indexed
#: three-character terms (migration 0019).
_FTS = sa.table(schema.SQLITE_SEARCH_INDEX[0], sa.column("rowid", sa.Integer))
_TERMS = sa.table(schema.SQLITE_SEARCH_INDEX[1], sa.column("term", sa.Text))
#: A text of two characters (or one outside ASCII) is looked up by the indexed terms it
#: starts, when they are at most this many; otherwise the narrow rows are read.
MAX_PREFIX_TERMS = 5_000


def _fts_terms(terms: list[str], operator: str) -> str:
    """An FTS5 query of ``terms``, each quoted (a term is a string, whatever it holds)."""
    return f" {operator} ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _uncased(text: str) -> bool:
    """Whether the only letters of ``text`` with a case are Latin: then its Latin letters
    lower-cased are what the full-text index folds it to."""
    return all(c.isascii() or c.lower() == c == c.upper() for c in text)


def _candidates(session: Session, text: str, pattern: str, sqlite: bool) -> sa.Select | None:
    """The ids of the customers whose row of ``customer_search`` holds ``text`` (any case of
    a Latin letter): every customer a condition of :func:`search_select` matches, and some
    more (a text spanning two fields, three-character pieces apart); ``None`` where no
    index narrows them.

    * SQLite, three characters or more: the customers whose indexed text holds every
      three-character piece of ``text`` (the index folds case as it indexed);
    * SQLite, two characters, or one outside ASCII (a Chinese character): the customers
      whose indexed text holds one of the indexed terms ``text`` starts (every field is
      followed by a separator, so a match is always the start of a term; in the last
      field, the tags' JSON text, a character outside ASCII is in a string, so its closing
      quote and the separator follow it);
    * SQLite, one character of ASCII (a digit or a Latin letter, in most customers'
      phone or e-mail: its terms' entries would be read by the million), or a prefix of
      too many terms: ``None`` — :func:`search_select` joins the narrow rows in the
      customers' order and checks ``instr`` in each, so it stops once its limit is
      reached (a digit held by most customers: 4 ms for 10,000 at 1,000,000 customers,
      against 151 ms for the list of every match first);
    * PostgreSQL: ``LIKE`` on the rows, which its trigram index serves from three
      characters on."""
    s = schema.customer_search.c
    if not sqlite:
        found = s.doc.like(sa.func.lower(sa.literal(pattern)), escape=_ESCAPE)
        return sa.select(s.customer_id).where(found)
    match: str | None = None
    if len(text) >= 3:
        match = _fts_terms(sorted({text[i : i + 3] for i in range(len(text) - 2)}), "AND")
    elif _uncased(text) and (len(text) == 2 or (len(text) == 1 and not text.isascii())):
        start = text.lower()
        terms = list(
            session.execute(
                sa.select(_TERMS.c.term)
                .where(_TERMS.c.term >= start, _TERMS.c.term <= start + "\U0010ffff")
                .limit(MAX_PREFIX_TERMS + 1)
            ).scalars()
        )
        if not terms:
            return sa.select(s.customer_id).where(sa.false())
        if len(terms) <= MAX_PREFIX_TERMS:
            match = _fts_terms(terms, "OR")
    if match is not None:
        return sa.select(_FTS.c.rowid).where(
            sa.text(f"{_FTS.name} MATCH :fts_query").bindparams(fts_query=match)
        )
    return None


def search_index_missing(engine: sa.Engine) -> bool:
    """Whether the store is a PostgreSQL store without the search's trigram index
    (:data:`rapport.store.schema.TRIGRAM_INDEX`; the migration leaves it out where the
    extension ``pg_trgm`` cannot be created): the search then reads every customer's
    searched text."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT 1 FROM pg_indexes WHERE indexname = :name"),
            {"name": schema.TRIGRAM_INDEX},
        ).first()
    return found is None


def search(
    *, session: Session, text: str, limit: int = 50, owner_id: int | None = None
) -> list[Row]:
    """Customers whose name, phone, email, external id or one of the tags contains ``text``.

    ``text`` is matched literally (``%`` and ``_`` are plain characters) and without regard
    to the case of Latin letters, with the same results on SQLite and PostgreSQL. Deleted
    customers are left out; results come in id order.
    """
    stmt = search_select(session=session, text=text, limit=limit, owner_id=owner_id)
    return [dict(r) for r in session.execute(stmt).mappings()]


def search_select(
    *, session: Session, text: str, limit: int = 50, owner_id: int | None = None
) -> sa.Select:
    """The select of :func:`search` (the first ``limit`` matches in id order), for a caller
    that adds conditions or reads only some columns (``.with_only_columns(customers.c.id)``).
    """
    pattern = _like_pattern(text)
    sqlite = session.get_bind().dialect.name == "sqlite"

    def matches(column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
        if sqlite:  # SQLite's LIKE ignores the case of Latin letters, as its lower() folds them
            return column.like(pattern, escape=_ESCAPE)
        return sa.func.lower(column).like(sa.func.lower(sa.literal(pattern)), escape=_ESCAPE)

    stmt = sa.select(schema.customers)
    # the id order: the narrow rows' when they are joined (the same values), so SQLite
    # reads them in the order of their key and stops at the limit
    order: sa.ColumnElement[Any] = _c.id
    tag = _tag_elements(session)
    tagged: sa.ColumnElement[bool] = (
        sa.select(sa.literal(1)).select_from(tag).where(matches(tag.c.value)).exists()
    )
    if not _JSON_ESCAPED.search(text):
        # a tag holding the text holds it as written in the list's JSON text too (SQLite's
        # text, PostgreSQL's jsonb written out): only the lists whose text does are read
        # element by element
        tagged = sa.and_(matches(sa.cast(_c.tags, sa.Text)), tagged)
        # and so does the customer's searched text (customer_search: the five fields
        # lower-cased in one narrow row), where the candidates are found; the conditions
        # below decide which match
        found = _candidates(session, text, pattern, sqlite)
        if found is not None:
            stmt = stmt.where(_c.id.in_(found))
        else:  # SQLite: the narrow rows read in their order (the customers'), to the limit
            narrow = schema.customer_search.c
            # lower() folds Latin letters alone, as LIKE ignores their case alone
            held = sa.func.instr(narrow.doc, sa.func.lower(text)) > 0
            stmt = stmt.join(schema.customer_search, narrow.customer_id == _c.id).where(held)
            # one owner's customers come in id order from the index on the owner: SQLite
            # walks it when asked for the customers' id order (for the narrow rows' it
            # reads every customer of the owner and sorts them)
            order = narrow.customer_id if owner_id is None else _c.id
    stmt = (
        stmt.where(_c.deleted_at.is_(None))
        .where(
            sa.or_(
                matches(_c.name),
                matches(_c.phone),
                matches(_c.email),
                matches(_c.external_id),
                tagged,
            )
        )
        .order_by(order)
        .limit(limit)
    )
    if owner_id is not None:
        stmt = stmt.where(_c.owner_id == owner_id)
    return stmt


# --- tags ------------------------------------------------------------------------------------
#
# Notes about a customer are not here but in their own table (rapport.store.notes), so that
# writing ``extra`` (an import, an API PATCH) cannot lose them.

#: Tags a customer may carry, and the length of one (the API's body schema imports them).
MAX_TAGS = 50
MAX_TAG_LENGTH = 64


class TagProblem(StrEnum):
    """Why a tag cannot be added (each one a text of the adapters)."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    TOO_MANY = "too_many"
    NOT_TEXT = "not_text"


def clean_tag(text: str) -> str:
    """A tag as stored: trimmed, inner runs of white space made one space."""
    return " ".join(text.split())


def tag_problem(tags: list[str] | None, tag: str) -> TagProblem | None:
    """Why ``tag`` (cleaned by :func:`clean_tag`) cannot join ``tags``, or ``None``. A tag
    already there is no problem: adding it changes nothing."""
    tag = clean_tag(tag)
    if not tag:
        return TagProblem.EMPTY
    if "\x00" in tag or not tag.isprintable():
        return TagProblem.NOT_TEXT
    if len(tag) > MAX_TAG_LENGTH:
        return TagProblem.TOO_LONG
    current = tags or []
    if tag not in current and len(current) >= MAX_TAGS:
        return TagProblem.TOO_MANY
    return None


def with_tag(tags: list[str] | None, tag: str) -> list[str]:
    """``tags`` with ``tag`` added at the end (cleaned; once); :class:`ValidationFailed`
    naming the problem (:func:`tag_problem`) otherwise."""
    problem = tag_problem(tags, tag)
    if problem is not None:
        raise ValidationFailed(
            "customers.tags: cannot add {tag!r} ({problem}): tags are 1 to "
            "{length} characters, at most {count} per customer",
            table="customers",
            field="tags",
            value=tag,
            hint="shorten the tag, or remove one of the customer's tags first",
            key="tag_refused",
            params={
                "tag": tag,
                "problem": problem.value,
                "length": MAX_TAG_LENGTH,
                "count": MAX_TAGS,
            },
        )
    current = [t for t in tags or [] if isinstance(t, str)]
    tag = clean_tag(tag)
    return current if tag in current else [*current, tag]


def without_tag(tags: list[str] | None, tag: str) -> list[str]:
    """``tags`` without ``tag`` (compared cleaned)."""
    tag = clean_tag(tag)
    return [t for t in tags or [] if t != tag]


def tag_customers(*, session: Session, customer_ids: list[int], tag: str, at: Any) -> int:
    """Add ``tag`` to each of ``customer_ids`` (a playbook's tag action); returns how many
    changed. A customer who has it already, or whose tags are full, is left as is."""
    table = schema.customers
    changed = []
    for start in range(0, len(customer_ids), 500):
        stmt = sa.select(table.c.id, table.c.tags).where(
            table.c.id.in_(customer_ids[start : start + 500])
        )
        for cid, tags in session.execute(stmt):
            current = tags if isinstance(tags, list) else []
            if clean_tag(tag) not in current and tag_problem(current, tag) is None:
                changed.append({"cid": cid, "new_tags": with_tag(current, tag)})
    if changed:
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("cid"))
            .values(tags=sa.bindparam("new_tags"), updated_at=at),
            changed,
        )
    return len(changed)
