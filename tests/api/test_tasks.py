"""``/tasks`` × every role: which tasks each role sees (404 outside the scope, as for a
missing task), masking for analysts, done with a result, skipped only with a reason, given
to someone by managers only, moved, made by hand for a customer in scope, and the audit
trail — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import TaskStatus
from rapport.store import tasks
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, T0, Book, People

URL = "/api/v1/tasks"
DUE = T0 + dt.timedelta(days=2)
#: Which task of :func:`work` each role sees.
SEES = {
    "admin": {"own", "given", "support", "west"},
    "analyst": {"own", "given", "support", "west"},
    # team east's customers and the unowned pool, and work given to a user of team east
    "manager": {"own", "given", "support"},
    # their own customer's task, and the task assigned to them (of a west customer)
    "sales": {"own", "given"},
    # the support team's queue (the service user's team)
    "service": {"support"},
}


@pytest.fixture
def work(db: Session, book: Book, people: People) -> dict[str, int]:
    """``own``: the sales user's customer, team east's queue; ``given``: a west customer's
    task assigned to the sales user; ``support``: the pool customer's task in the support
    team's queue; ``west``: a west customer's task assigned to the west sales user."""
    spec = {
        "own": tasks.NewTask(book.own["id"], "回访", DUE, team="east"),
        "given": tasks.NewTask(book.west["id"], "代为回访", DUE, assignee_id=people.sales["id"]),
        "support": tasks.NewTask(book.pool["id"], "投诉回访", DUE, team="support"),
        "west": tasks.NewTask(book.west["id"], "生日", DUE, assignee_id=people.sales_west["id"]),
    }
    out = {name: tasks.add_task(session=db, task=task, at=T0) for name, task in spec.items()}
    db.commit()
    return out


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lists_its_tasks(
    client: TestClient, people: People, work: dict[str, int], role: str
) -> None:
    found = client.get(URL, headers=people.headers(role))
    assert found.status_code == 200, found.text
    names = {v: k for k, v in work.items()}
    body = found.json()
    assert {names[r["id"]] for r in body["data"]} == SEES[role]
    assert body["count"] == len(SEES[role])
    for name, task_id in work.items():
        one = client.get(f"{URL}/{task_id}", headers=people.headers(role))
        assert one.status_code == (200 if name in SEES[role] else 404)
    assert client.get(f"{URL}/{MISSING_ID}", headers=people.headers(role)).status_code == 404
    masked = {r["masked"] for r in body["data"]}
    assert masked == {role == "analyst"}
    if role == "analyst":
        assert all(r["customer_name"] != "张伟" for r in body["data"])


def test_filters_and_pages(client: TestClient, people: People, work: dict[str, int]) -> None:
    admin = people.headers("admin")
    queue = client.get(URL, params={"team": "support"}, headers=admin).json()
    assert [r["id"] for r in queue["data"]] == [work["support"]]
    mine = client.get(URL, params={"assignee_id": people.sales["id"]}, headers=admin).json()
    assert [r["id"] for r in mine["data"]] == [work["given"]]
    later = (DUE + dt.timedelta(seconds=1)).isoformat()
    assert client.get(URL, params={"due_after": later}, headers=admin).json()["count"] == 0
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        page = client.get(URL, params=params, headers=admin).json()
        seen += [r["id"] for r in page["data"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert sorted(seen) == sorted(work.values())


def test_done_skipped_and_the_audit(
    client: TestClient, db: Session, people: People, work: dict[str, int]
) -> None:
    sales = people.headers("sales")
    done = client.patch(
        f"{URL}/{work['given']}",
        json={"status": "done", "result": "reached", "note": "客户满意"},
        headers=sales,
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["result"], body["completed_by"]) == (
        TaskStatus.DONE.value,
        "reached",
        people.sales["id"],
    )
    again = client.patch(
        f"{URL}/{work['given']}", json={"status": "skipped", "reason": "x"}, headers=sales
    )
    assert again.status_code == 409
    no_reason = client.patch(f"{URL}/{work['own']}", json={"status": "skipped"}, headers=sales)
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["field"] == "reason"
    skipped = client.patch(
        f"{URL}/{work['own']}", json={"status": "skipped", "reason": "客户出差"}, headers=sales
    )
    assert skipped.status_code == 200 and skipped.json()["skip_reason"] == "客户出差"
    entries = audit_entries(db, action="update", entity="tasks")
    assert [(e["entity_id"], e["detail"]["to"]) for e in entries] == [
        (str(work["given"]), "done"),
        (str(work["own"]), "skipped"),
    ]
    assert {e["actor_user_id"] for e in entries} == {people.sales["id"]}


def test_analysts_read_only_and_scope_holds_for_writes(
    client: TestClient, people: People, work: dict[str, int]
) -> None:
    done = {"status": "done"}
    assert (
        client.patch(
            f"{URL}/{work['own']}", json=done, headers=people.headers("analyst")
        ).status_code
        == 403
    )
    # outside the sales user's scope: 404 as for a missing task
    assert (
        client.patch(
            f"{URL}/{work['west']}", json=done, headers=people.headers("sales")
        ).status_code
        == 404
    )
    assert (
        client.patch(
            f"{URL}/{work['support']}", json=done, headers=people.headers("service")
        ).status_code
        == 200
    )


def test_reassigning_is_for_managers_and_the_assignee_moves_the_date(
    client: TestClient, people: People, work: dict[str, int]
) -> None:
    to_peer = {"assignee_id": people.sales_peer["id"]}
    refused = client.patch(f"{URL}/{work['given']}", json=to_peer, headers=people.headers("sales"))
    assert refused.status_code == 403
    given = client.patch(f"{URL}/{work['own']}", json=to_peer, headers=people.headers("manager"))
    assert given.status_code == 200 and given.json()["assignee_id"] == people.sales_peer["id"]
    later = (DUE + dt.timedelta(days=3)).isoformat()
    moved = client.patch(
        f"{URL}/{work['given']}", json={"due_at": later}, headers=people.headers("sales")
    )
    assert moved.status_code == 200
    assert dt.datetime.fromisoformat(moved.json()["due_at"]) == DUE + dt.timedelta(days=3)
    # the service user sees the support queue's task but is not its assignee
    not_theirs = client.patch(
        f"{URL}/{work['support']}", json={"due_at": later}, headers=people.headers("service")
    )
    assert not_theirs.status_code == 403


def test_a_task_by_hand(client: TestClient, db: Session, people: People, book: Book) -> None:
    body = {"customer_id": book.own["id"], "title": "送生日礼物", "due_at": DUE.isoformat()}
    made = client.post(URL, json=body, headers=people.headers("sales"))
    assert made.status_code == 201, made.text
    task = made.json()
    assert (task["assignee_id"], task["status"], task["title"]) == (
        people.sales["id"],
        "open",
        "送生日礼物",
    )
    outside = client.post(
        URL, json={**body, "customer_id": book.west["id"]}, headers=people.headers("sales")
    )
    assert outside.status_code == 422
    for_peer = client.post(
        URL, json={**body, "assignee_id": people.sales_peer["id"]}, headers=people.headers("sales")
    )
    assert for_peer.status_code == 403
    by_manager = client.post(
        URL,
        json={**body, "assignee_id": people.sales_peer["id"]},
        headers=people.headers("manager"),
    )
    assert by_manager.status_code == 201
    assert client.post(URL, json=body, headers=people.headers("analyst")).status_code == 403
    created = audit_entries(db, action="create", entity="tasks")
    assert [int(e["entity_id"]) for e in created] == [task["id"], by_manager.json()["id"]]


def test_unmasked_reads_are_audited(
    client: TestClient, db: Session, people: People, work: dict[str, int]
) -> None:
    assert client.get(URL, headers=people.headers("analyst")).status_code == 200
    assert audit_entries(db, action="read_pii", entity="tasks") == []
    assert client.get(URL, headers=people.headers("sales")).status_code == 200
    assert client.get(f"{URL}/{work['own']}", headers=people.headers("sales")).status_code == 200
    reads = audit_entries(db, action="read_pii", entity="tasks")
    assert [(e["actor_user_id"], e["detail"]["route"]) for e in reads] == [
        (people.sales["id"], "list"),
        (people.sales["id"], "get"),
    ]
    assert sorted(reads[0]["detail"]["ids"]) == sorted([work["own"], work["given"]])


def test_an_empty_patch_changes_nothing(
    client: TestClient, db: Session, people: People, work: dict[str, int]
) -> None:
    same = client.patch(f"{URL}/{work['own']}", json={}, headers=people.headers("sales"))
    assert same.status_code == 200 and same.json()["status"] == "open"
    assert audit_entries(db, action="update", entity="tasks") == []


def test_done_with_a_result_that_is_no_call_result_is_refused(
    client: TestClient, people: People, work: dict[str, int]
) -> None:
    sales = people.headers("sales")
    refused = client.patch(
        f"{URL}/{work['given']}", json={"status": "done", "result": "spoke"}, headers=sales
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["field"] == "body.result"
    text = refused.text
    assert all(code in text for code in ("reached", "no_answer", "callback", "declined"))
    still = client.get(f"{URL}/{work['given']}", headers=sales).json()
    assert still["status"] == TaskStatus.OPEN.value
    done = client.patch(
        f"{URL}/{work['given']}", json={"status": "done", "result": "no_answer"}, headers=sales
    )
    assert done.status_code == 200 and done.json()["result"] == "no_answer"
