"""Tasks: listed within each role's :class:`~rapport.access.TaskScope`, filtered and paged;
done with a result, skipped only with a reason, reassigned, moved; expired once past due by
``[tasks] expire_after_days`` — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import Principal, TaskScope
from rapport.domain import Role, TaskStatus
from rapport.errors import Conflict, NotFound, ValidationFailed
from rapport.store import schema, tasks
from rapport.store.paging import PageRequest, decode_cursor

from .factories import T0, customer, user

DAY = dt.timedelta(days=1)


def _principal(row: dict[str, Any]) -> Principal:
    return Principal(
        user_id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        team=row["team"],
        via="login",
    )


def _add(session: Session, customer_id: int, title: str, **values: Any) -> int:
    tasks.add_tasks(
        session=session,
        tasks=[tasks.NewTask(customer_id=customer_id, title=title, due_at=T0 + DAY, **values)],
        at=T0,
    )
    t = schema.tasks
    return session.execute(sa.select(sa.func.max(t.c.id))).scalar_one()


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    """Staff of two teams and tasks in every relation to them:

    - ``own``: a task for the sales user's own customer, assigned to nobody but team east
    - ``given``: a task for another owner's customer, assigned to the sales user
    - ``peer``: a task for the peer's customer, assigned to the peer (same team east)
    - ``queue``: a task of the support team's queue for the west customer
    - ``eastq``: a task of team east's queue for the west customer
    - ``pool``: a task of team west's queue for an unowned customer
    - ``serviced``: a task assigned to the service user, for the west customer
    - ``gone``: a task assigned to the sales user, for a deleted customer
    """
    staff = {
        "admin": user(session, role=Role.ADMIN),
        "manager": user(session, role=Role.MANAGER, team="east"),
        "sales": user(session, role=Role.SALES, team="east"),
        "peer": user(session, role=Role.SALES, team="east"),
        "west": user(session, role=Role.SALES, team="west"),
        "service": user(session, role=Role.SERVICE, team="support"),
        "analyst": user(session, role=Role.ANALYST),
    }
    own = customer(session, owner_id=staff["sales"]["id"])
    peer = customer(session, owner_id=staff["peer"]["id"])
    west = customer(session, owner_id=staff["west"]["id"])
    pool = customer(session)
    gone = customer(session, owner_id=staff["sales"]["id"])
    ids = {
        "own": _add(session, own["id"], "回访", team="east"),
        "given": _add(session, west["id"], "代为回访", assignee_id=staff["sales"]["id"]),
        "peer": _add(session, peer["id"], "生日礼物", assignee_id=staff["peer"]["id"]),
        "queue": _add(session, west["id"], "投诉回访", team="support"),
        "eastq": _add(session, west["id"], "续约提醒", team="east"),
        "pool": _add(session, pool["id"], "首次联系", team="west"),
        "serviced": _add(session, west["id"], "工单回访", assignee_id=staff["service"]["id"]),
        "gone": _add(session, gone["id"], "已删除", assignee_id=staff["sales"]["id"]),
    }
    t = schema.customers
    session.execute(sa.update(t).where(t.c.id == gone["id"]).values(deleted_at=T0))
    return {"staff": staff, "tasks": ids}


#: Which tasks of :func:`world` each role sees.
SEES = {
    "admin": {"own", "given", "peer", "queue", "eastq", "pool", "serviced"},
    "analyst": {"own", "given", "peer", "queue", "eastq", "pool", "serviced"},
    # the team's customers and unowned ones (as in CustomerScope), the team's queue, work
    # given to a user of the team; not the support team's queue or the service user's task
    "manager": {"own", "given", "peer", "eastq", "pool"},
    "sales": {"own", "given"},
    "service": {"queue", "serviced"},
}


@pytest.mark.parametrize("role", sorted(SEES))
def test_each_role_sees_its_tasks(session: Session, world: dict[str, Any], role: str) -> None:
    scope = TaskScope(_principal(world["staff"][role]))
    page = tasks.list_tasks(session=session, page=PageRequest(limit=50), where=[scope.clause()])
    names = {v: k for k, v in world["tasks"].items()}
    assert {names[r["id"]] for r in page.data} == SEES[role]
    assert page.count == len(SEES[role])
    hidden = set(world["tasks"]) - SEES[role]
    for name in hidden:
        with pytest.raises(NotFound):
            tasks.get(session=session, task_id=world["tasks"][name], where=[scope.clause()])


def test_filters_and_pages(session: Session, world: dict[str, Any]) -> None:
    sales = world["staff"]["sales"]["id"]
    mine = tasks.list_tasks(
        session=session, page=PageRequest(limit=50), filters=tasks.TaskFilter(assignee_id=sales)
    )
    assert {r["id"] for r in mine.data} == {world["tasks"]["given"], world["tasks"]["gone"]}
    queue = tasks.list_tasks(
        session=session, page=PageRequest(limit=50), filters=tasks.TaskFilter(team="support")
    )
    assert [r["id"] for r in queue.data] == [world["tasks"]["queue"]]
    seen: list[int] = []
    request = PageRequest(limit=2)
    while True:
        page = tasks.list_tasks(session=session, page=request)
        seen += [r["id"] for r in page.data]
        if page.next_key is None:
            break
        assert page.next_cursor is not None
        request = PageRequest(limit=2, after=decode_cursor(page.next_cursor))
    assert sorted(seen) == sorted(world["tasks"].values())
    assert len(seen) == len(set(seen))
    late = tasks.list_tasks(
        session=session,
        page=PageRequest(limit=50),
        filters=tasks.TaskFilter(due_after=T0 + 2 * DAY),
    )
    assert late.data == []


def test_done_skip_and_their_rules(session: Session, world: dict[str, Any]) -> None:
    by = world["staff"]["sales"]["id"]
    done = tasks.complete(
        session=session, task_id=world["tasks"]["own"], at=T0, by=by, result="reached", note="好"
    )
    assert (done["status"], done["result"], done["note"], done["completed_by"]) == (
        TaskStatus.DONE.value,
        "reached",
        "好",
        by,
    )
    with pytest.raises(Conflict):
        tasks.skip(session=session, task_id=world["tasks"]["own"], at=T0, by=by, reason="x")
    for empty in (None, "", "   "):
        with pytest.raises(ValidationFailed) as caught:
            tasks.skip(session=session, task_id=world["tasks"]["given"], at=T0, by=by, reason=empty)
        assert caught.value.field == "reason"
    skipped = tasks.skip(
        session=session, task_id=world["tasks"]["given"], at=T0, by=by, reason="客户出差"
    )
    assert (skipped["status"], skipped["skip_reason"]) == (TaskStatus.SKIPPED.value, "客户出差")
    with pytest.raises(NotFound):
        tasks.complete(session=session, task_id=987_654, at=T0, by=by)


def test_reassign_and_reschedule(session: Session, world: dict[str, Any]) -> None:
    task_id = world["tasks"]["queue"]
    service = world["staff"]["service"]["id"]
    moved = tasks.reassign(session=session, task_id=task_id, at=T0, assignee_id=service)
    assert (moved["assignee_id"], moved["team"]) == (service, None)
    back = tasks.reassign(session=session, task_id=task_id, at=T0, assignee_id=None, team="support")
    assert (back["assignee_id"], back["team"]) == (None, "support")
    with pytest.raises(ValidationFailed):
        tasks.reassign(session=session, task_id=task_id, at=T0, assignee_id=None, team=" ")
    later = T0 + 5 * DAY
    assert (
        tasks.reschedule(session=session, task_id=task_id, at=T0, due_at=later)["due_at"] == later
    )


def test_expiry_after_the_configured_days(session: Session, world: dict[str, Any]) -> None:
    due = T0 + DAY  # every task of the world is due then
    by = world["staff"]["admin"]["id"]
    tasks.complete(session=session, task_id=world["tasks"]["own"], at=T0, by=by)
    # exactly expire_after_days past due: not yet (past due by *more* than the days)
    assert tasks.expire_tasks(session=session, at=due + 3 * DAY, after_days=3) == 0
    expired = tasks.expire_tasks(
        session=session, at=due + 3 * DAY + dt.timedelta(seconds=1), after_days=3
    )
    assert expired == len(world["tasks"]) - 1  # the done task stays done
    assert tasks.expire_tasks(session=session, at=due + 30 * DAY, after_days=3) == 0
    t = schema.tasks
    statuses = dict(session.execute(sa.select(t.c.id, t.c.status)).all())
    assert statuses[world["tasks"]["own"]] == TaskStatus.DONE.value
    assert {s for i, s in statuses.items() if i != world["tasks"]["own"]} == {
        TaskStatus.EXPIRED.value
    }
    with pytest.raises(Conflict):
        tasks.complete(session=session, task_id=world["tasks"]["queue"], at=T0, by=by)


def test_expiry_reads_the_rules_by_default(session: Session, world: dict[str, Any]) -> None:
    due = T0 + DAY
    assert tasks.expire_tasks(session=session, at=due + 6 * DAY) == 0  # default 7 days
    assert tasks.expire_tasks(session=session, at=due + 8 * DAY) == len(world["tasks"])
