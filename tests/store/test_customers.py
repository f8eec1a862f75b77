"""Customers: soft delete and revival, and search."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from rapport.errors import Conflict, NotFound
from rapport.store import customers
from rapport.store.repository import UpsertOutcome

from .factories import customer, ext, user


def test_soft_delete_hides_the_customer_but_keeps_the_row(session: Session) -> None:
    c = customer(session)
    total = customers.repo.count(session=session)
    customers.repo.delete(session=session, id=c["id"])

    with pytest.raises(NotFound):
        customers.repo.get(session=session, id=c["id"])
    with pytest.raises(NotFound):
        customers.repo.get_by_key(session=session, key=c["external_id"])
    assert c["id"] not in {r["id"] for r in customers.repo.list(session=session, limit=1000)}
    assert customers.repo.count(session=session) == total - 1

    found = customers.repo.find(session=session, key=c["external_id"])
    assert found is not None and found["deleted_at"] is not None
    hidden = customers.repo.get(session=session, id=c["id"], include_deleted=True)
    assert hidden["name"] == c["name"]
    assert customers.repo.count(session=session, include_deleted=True) == total
    with pytest.raises(NotFound):
        customers.repo.delete(session=session, id=c["id"])


def test_upsert_revives_a_soft_deleted_customer(session: Session) -> None:
    c = customer(session, city="广州市")
    customers.repo.delete(session=session, id=c["id"])
    outcome, row = customers.repo.upsert(
        session=session, values={"external_id": c["external_id"], "city": "广州市"}
    )
    assert outcome is UpsertOutcome.UPDATED
    assert row["id"] == c["id"]
    assert row["deleted_at"] is None
    assert customers.repo.get(session=session, id=c["id"])["city"] == "广州市"


def test_create_with_the_key_of_a_soft_deleted_customer_is_a_conflict(session: Session) -> None:
    c = customer(session)
    customers.repo.delete(session=session, id=c["id"])
    with pytest.raises(Conflict):
        customers.repo.create(session=session, values={"external_id": c["external_id"]})


def test_a_soft_deleted_customer_cannot_be_updated(session: Session) -> None:
    c = customer(session)
    customers.repo.delete(session=session, id=c["id"])
    with pytest.raises(NotFound):
        customers.repo.update(session=session, id=c["id"], values={"city": "北京市"})


# --- search --------------------------------------------------------------------------------


def _ids(rows: list[dict]) -> list[int]:
    return [r["id"] for r in rows]


@pytest.fixture
def people(session: Session) -> dict[str, dict]:
    tag = ext("标签")
    return {
        "tag": tag,
        "zhang": customer(
            session,
            name="张伟",
            phone="+8613812345678",
            email="zhang.wei@example.cn",
            tags=[tag, "老客户"],
        ),
        "li": customer(session, name="李娜", phone="+8613900000000", tags=["新客户"]),
        "zhangsan": customer(session, name="张三丰", email="sanfeng@example.cn"),
    }


def test_search_by_name_part(session: Session, people: dict) -> None:
    found = _ids(customers.search(session=session, text="张"))
    assert people["zhang"]["id"] in found and people["zhangsan"]["id"] in found
    assert people["li"]["id"] not in found
    assert found == sorted(found)


@pytest.mark.parametrize(
    ("text", "who"),
    [("13812345678", "zhang"), ("zhang.wei@", "zhang"), ("+86139", "li"), ("sanfeng", "zhangsan")],
)
def test_search_by_phone_email(session: Session, people: dict, text: str, who: str) -> None:
    assert _ids(customers.search(session=session, text=text)) == [people[who]["id"]]


def test_search_by_external_id(session: Session, people: dict) -> None:
    key = people["li"]["external_id"]
    assert _ids(customers.search(session=session, text=key)) == [people["li"]["id"]]


def test_search_by_chinese_tag(session: Session, people: dict) -> None:
    assert _ids(customers.search(session=session, text=people["tag"])) == [people["zhang"]["id"]]


def test_search_skips_deleted_customers(session: Session, people: dict) -> None:
    customers.repo.delete(session=session, id=people["zhang"]["id"])
    assert _ids(customers.search(session=session, text=people["tag"])) == []


def test_search_by_owner_and_limit(session: Session) -> None:
    owner = user(session)
    mine = [customer(session, name="王小明", owner_id=owner["id"])["id"] for _ in range(3)]
    customer(session, name="王小明")
    found = customers.search(session=session, text="王小明", owner_id=owner["id"])
    assert _ids(found) == mine
    limited = customers.search(session=session, text="王小明", owner_id=owner["id"], limit=2)
    assert _ids(limited) == mine[:2]


def test_search_treats_wildcards_as_plain_characters(session: Session, people: dict) -> None:
    underscored = customer(session, name="张_伟")
    assert _ids(customers.search(session=session, text="_")) == [underscored["id"]]
    assert _ids(customers.search(session=session, text="%")) == []


def test_search_finds_part_of_a_tag(session: Session, people: dict) -> None:
    assert people["zhang"]["id"] in _ids(customers.search(session=session, text="老客"))


def test_search_ignores_latin_case_on_every_backend(session: Session, people: dict) -> None:
    assert _ids(customers.search(session=session, text="ZHANG.WEI")) == [people["zhang"]["id"]]


@pytest.mark.parametrize(
    "tag, text",
    [
        ('说"好"的客户', '"好"'),  # JSON writes the quotes escaped
        ("路径\\A", "\\a"),  # and the backslash
        ("VIP Gold", "vip g"),  # Latin case ignored inside a tag
        ("回头客", "头客"),
    ],
)
def test_search_finds_tags_as_written_whatever_their_json_text(
    session: Session, tag: str, text: str
) -> None:
    # the tags' JSON text may first be searched as a whole, never losing a tag that holds
    # the text: one written with escapes in its JSON text is found all the same
    holder = customer(session, name="陈静", tags=["其他", tag])
    customer(session, name="陈静", tags=["其他"])
    assert _ids(customers.search(session=session, text=text)) == [holder["id"]]
