"""The customers' searched text (``customer_search``, migration 0019) and the text search
that finds its candidates there: the text follows every write of a customer, and the search
returns what an independent reading of every customer returns, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.api.privacy import erase_customer
from rapport.ingest.importer import import_file
from rapport.store import customers, schema
from rapport.store.db import session_scope

from .factories import customer, ext, user

_c = schema.customers.c
_s = schema.customer_search.c
SEP = schema.SEARCH_SEPARATOR


def _docs(session: Session, ids: list[int]) -> dict[int, str]:
    rows = session.execute(sa.select(_s.customer_id, _s.doc).where(_s.customer_id.in_(ids)))
    return {i: doc for i, doc in rows}


def _expected(session: Session, ids: list[int]) -> dict[int, str]:
    """What each customer's searched text should be, from the row as stored: the fields
    lower-cased (the data of these tests is Latin, digits and Chinese, where Python's and
    both backends' lower() agree), each followed by the separator, the tags as their JSON
    text."""
    rows = session.execute(
        sa.select(
            _c.id, _c.name, _c.phone, _c.email, _c.external_id, sa.cast(_c.tags, sa.Text)
        ).where(_c.id.in_(ids))
    )
    return {i: "".join(f"{v or ''}{SEP}" for v in values).lower() for i, *values in rows}


def test_the_searched_text_follows_every_write(session: Session) -> None:
    a = customer(
        session, name="Wang FANG 王芳", phone="+8613812345678", email="Fang@QQ.com", tags=["VIP"]
    )
    b = customer(session, name=None, phone=None, email=None)
    ids = [a["id"], b["id"]]
    assert _docs(session, ids) == _expected(session, ids)
    assert _docs(session, [b["id"]])[b["id"]] == f"{SEP * 3}{b['external_id'].lower()}{SEP * 2}"

    for field, value in (
        ("name", "Li NA 李娜"),
        ("phone", "+8613900000000"),
        ("email", "LI.na@example.CN"),
        ("tags", ["老客户", "Key Account"]),
    ):
        customers.repo.update(session=session, id=a["id"], values={field: value})
        assert _docs(session, ids) == _expected(session, ids), field
    assert "key account" in _docs(session, [a["id"]])[a["id"]]

    before = _docs(session, ids)
    customers.repo.update(session=session, id=a["id"], values={"city": "上海市"})
    assert _docs(session, ids) == before  # a field the search does not read

    customers.repo.upsert(session=session, values={"external_id": b["external_id"], "name": "乙"})
    assert _docs(session, ids) == _expected(session, ids)
    assert customers.search(session=session, text="乙") == [
        customers.repo.get(session=session, id=b["id"])
    ]

    # an erasure leaves nothing of the erased text searchable
    erase_customer(session=session, customer_id=a["id"])
    assert _docs(session, ids) == _expected(session, ids)
    for gone in ("李娜", "13900000000", "li.na", "老客户"):
        assert a["id"] not in {r["id"] for r in customers.search(session=session, text=gone)}

    session.execute(sa.delete(schema.customers).where(_c.id == b["id"]))
    assert _docs(session, ids) == _expected(session, [a["id"]])
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's full-text index holds what customer_search holds (the check against the
        # external content fails with "database disk image is malformed" otherwise)
        fts = schema.SQLITE_SEARCH_INDEX[0]
        session.execute(sa.text(f"INSERT INTO {fts} ({fts}, rank) VALUES ('integrity-check', 1)"))


def test_an_import_writes_the_searched_text(fresh_engine: Engine, tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "external_id": ["IMP-1", "IMP-2", "IMP-3"],
            "name": ["欧阳 Ming", "陈静", None],
            "phone": ["13812340001", None, "13812340003"],
        }
    ).write_csv(tmp_path / "c.csv")
    import_file("customers", tmp_path / "c.csv", engine=fresh_engine)
    pl.DataFrame({"external_id": ["IMP-2", "IMP-4"], "name": ["陈静怡", "Zhou"]}).write_csv(
        tmp_path / "again.csv"
    )
    import_file("customers", tmp_path / "again.csv", engine=fresh_engine)
    with session_scope(fresh_engine) as session:
        ids = list(session.execute(sa.select(_c.id)).scalars())
        assert len(ids) == 4
        assert _docs(session, ids) == _expected(session, ids)
        assert [r["external_id"] for r in customers.search(session=session, text="静怡")] == [
            "IMP-2"
        ]
        assert [r["external_id"] for r in customers.search(session=session, text="MING")] == [
            "IMP-1"
        ]


# --- the search against a reading of every customer ------------------------------------------

#: Characters of the generated fields: Latin of both cases, digits, Chinese, and what LIKE,
#: JSON and the separator's neighbours make special.
ALPHABET = string.ascii_letters[:8] + "ABCxyz" + "0123" + "王芳李娜欧阳" + "%_\\\"' .@+-"


def _text(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(low, high)))


def _ascii_lower(text: str) -> str:
    """Latin letters folded, nothing else: the case SQLite's LIKE ignores (and, for the
    characters of :data:`ALPHABET`, PostgreSQL's lower())."""
    return text.translate(str.maketrans(string.ascii_uppercase, string.ascii_lowercase))


def _reference(people: list[dict[str, Any]], text: str, limit: int) -> list[int]:
    """The ids ``search`` must return, found in Python: a field, or one tag, holding the
    text whatever the case of its Latin letters; deleted customers left out."""
    wanted = _ascii_lower(text)

    def holds(value: str | None) -> bool:
        return value is not None and wanted in _ascii_lower(value)

    found = [
        p["id"]
        for p in people
        if p["deleted"] is False
        and (
            any(holds(p[f]) for f in ("name", "phone", "email", "external_id"))
            or any(holds(t) for t in p["tags"] or [])
        )
    ]
    return sorted(found)[:limit]


@pytest.fixture
def crowd(session: Session) -> list[dict[str, Any]]:
    rng = random.Random(19)
    people = []
    for i in range(160):
        values = {
            "external_id": ext(f"S{i:03d}-{_text(rng, 0, 3)}"),
            "name": _text(rng, 1, 6) if rng.random() < 0.9 else None,
            "phone": "".join(rng.choice("0123456789") for _ in range(11))
            if rng.random() < 0.7
            else None,
            "email": f"{_text(rng, 1, 5)}@x.cn" if rng.random() < 0.5 else None,
            "tags": [_text(rng, 1, 5) for _ in range(rng.randint(0, 3))]
            if rng.random() < 0.8
            else None,
        }
        row = customers.repo.create(session=session, values=values)
        deleted = rng.random() < 0.1
        if deleted:
            customers.repo.delete(session=session, id=row["id"])
        people.append({**row, "deleted": deleted})
    return people


def _queries(people: list[dict[str, Any]]) -> list[str]:
    rng = random.Random(7)
    fields = [
        v
        for p in people
        for v in [p["name"], p["phone"], p["email"], p["external_id"], *(p["tags"] or [])]
        if v
    ]
    texts = []
    for value in rng.sample(fields, 120):
        start = rng.randrange(len(value))
        part = value[start : start + rng.randint(1, 4)]
        texts.append(part.swapcase() if rng.random() < 0.3 else part)
    # across two fields (the separator between them in the searched text): none match but
    # by a field holding the whole text
    for p in people[:20]:
        if p["name"] and p["phone"]:
            texts.append(p["name"][-2:] + p["phone"][:2])
    # every character alone (a Chinese one is looked up by the indexed terms it starts)
    return [*texts, *ALPHABET, "\x1f", "a%b", "王芳", "ZZZ-none", "郭"]


def test_the_search_equals_a_reading_of_every_customer(
    session: Session, crowd: list[dict[str, Any]]
) -> None:
    ours = {p["id"] for p in crowd}
    checked = 0
    for text in _queries(crowd):
        found = [r["id"] for r in customers.search(session=session, text=text, limit=10_000)]
        assert [i for i in found if i in ours] == _reference(crowd, text, 10_000), repr(text)
        checked += bool(found)
    assert checked > 100  # most texts are found somewhere


def test_the_limit_keeps_the_first_matches_in_id_order(
    session: Session, crowd: list[dict[str, Any]]
) -> None:
    for text in ("a", "1", "王"):
        everyone = [r["id"] for r in customers.search(session=session, text=text, limit=10_000)]
        assert len(everyone) > 5
        assert [r["id"] for r in customers.search(session=session, text=text, limit=5)] == (
            everyone[:5]
        )


def test_the_plan_finds_the_candidates_in_an_index(session: Session) -> None:
    customer(session, name="王芳", email="fang@qq.com")
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":

        def plan(text: str) -> str:
            stmt = customers.search_select(session=session, text=text)
            sql = stmt.compile(bind, compile_kwargs={"literal_binds": True})
            return " / ".join(
                str(r[-1]) for r in session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))
            )

        # three characters or more, two, and one outside ASCII: the full-text index; one
        # of ASCII: the narrow rows
        for text in ("fang@qq", "王芳", "芳"):
            assert "SCAN customer_search_fts VIRTUAL TABLE" in plan(text), plan(text)
            assert "SCAN customers" not in plan(text)
        assert "SCAN customer_search" in plan("f") and "SCAN customers" not in plan("f")
        assert "customer_search_fts" not in plan("f")
    else:  # the trigram index serves a text of three characters or more
        # (a store this small is read row by row: the plan is asked for without that)
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        session.execute(sa.text("SET LOCAL enable_indexscan = off"))
        compiled = customers.search_select(session=session, text="fang@qq").compile(bind)
        plan = "\n".join(
            session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars()
        )
        assert "ix_customer_search_doc_trgm" in plan, plan
    # a text the tags' JSON writes otherwise is not looked for there (found as before)
    quoted = customers.search_select(session=session, text='a"b')
    assert "customer_search" not in str(quoted)


def test_one_owners_search_is_the_search_of_their_customers(
    session: Session, crowd: list[dict[str, Any]]
) -> None:
    owners = [user(session, username=ext("owner"))["id"] for _ in range(2)]
    owned = {p["id"]: owners[i % 2] for i, p in enumerate(crowd) if i % 3 and not p["deleted"]}
    for customer_id, owner in owned.items():
        customers.repo.update(session=session, id=customer_id, values={"owner_id": owner})
    for text in ("a", "1", "@", "王", "王芳", "x.cn"):
        everyone = [r["id"] for r in customers.search(session=session, text=text, limit=10_000)]
        for owner in owners:
            mine = [i for i in everyone if owned.get(i) == owner]
            found = customers.search(session=session, text=text, limit=10_000, owner_id=owner)
            assert [r["id"] for r in found] == mine, (text, owner)
            limited = customers.search(session=session, text=text, limit=3, owner_id=owner)
            assert [r["id"] for r in limited] == mine[:3]
