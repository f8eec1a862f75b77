"""Administering staff accounts: disable and enable, role and team, the last active
administrator kept, and the rule that an administrator does not lock themselves out."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import Principal, check_account_change
from rapport.domain import Role
from rapport.errors import Conflict, Forbidden, NotFound, ValidationFailed
from rapport.i18n.errors import error_text
from rapport.store import schema, users

from .factories import ext


def _only_admin(session: Session) -> dict:
    """A new active admin, the only one (the others disabled inside the test's transaction)."""
    u = schema.users.c
    session.execute(sa.update(schema.users).where(u.role == Role.ADMIN).values(is_active=False))
    return users.create_user(session=session, username=ext("root"), role=Role.ADMIN)


def test_disable_and_enable_again(session: Session) -> None:
    row = users.create_user(session=session, username=ext("li"), role=Role.SALES, team="east")
    assert users.set_active(session=session, user_id=row["id"], active=False)["is_active"] is False
    assert users.set_active(session=session, user_id=row["id"], active=True)["is_active"] is True
    with pytest.raises(NotFound):
        users.set_active(session=session, user_id=2_000_000_000, active=False)


def test_change_role_and_team(session: Session) -> None:
    row = users.create_user(session=session, username=ext("wu"), role=Role.SALES, team="east")
    changed = users.change_role(session=session, user_id=row["id"], role="manager", team="west")
    assert (changed["role"], changed["team"]) == (Role.MANAGER, "west")
    cleared = users.change_role(session=session, user_id=row["id"], role=Role.MANAGER, team=None)
    assert cleared["team"] is None
    with pytest.raises(ValidationFailed) as refused:
        users.change_role(session=session, user_id=row["id"], role="boss", team=None)
    assert refused.value.field == "role"
    assert users.get(session=session, id=row["id"])["role"] == Role.MANAGER


def test_the_last_active_admin_is_neither_disabled_nor_demoted(session: Session) -> None:
    root = _only_admin(session)
    with pytest.raises(Conflict) as disabled:
        users.disable(session=session, username=root["username"])
    assert disabled.value.key == "last_admin" and disabled.value.field == "is_active"
    assert "最后一个启用的管理员" in error_text(disabled.value, "zh_CN")
    with pytest.raises(Conflict) as demoted:
        users.change_role(session=session, user_id=root["id"], role=Role.MANAGER, team=None)
    assert demoted.value.field == "role"
    assert users.get(session=session, id=root["id"])["is_active"] is True
    # with a second active admin, either may go
    other = users.create_user(session=session, username=ext("root2"), role=Role.ADMIN)
    users.change_role(session=session, user_id=root["id"], role=Role.ANALYST, team=None)
    # ... and the one left is the last again
    with pytest.raises(Conflict):
        users.set_active(session=session, user_id=other["id"], active=False)
    # a disabled admin's team may change (it leaves nobody without an admin)
    users.create_user(session=session, username=ext("root3"), role=Role.ADMIN)
    users.set_active(session=session, user_id=other["id"], active=False)
    users.change_role(session=session, user_id=other["id"], role=Role.ADMIN, team="ops")


def test_an_admin_may_not_disable_or_demote_themselves() -> None:
    me = Principal(user_id=7, username="root", role=Role.ADMIN, team=None, via="web")
    with pytest.raises(Forbidden) as own:
        check_account_change(me, 7, role=Role.ADMIN, active=False)
    assert own.value.key == "own_account"
    with pytest.raises(Forbidden):
        check_account_change(me, 7, role=Role.SALES, active=True)
    check_account_change(me, 7, role=Role.ADMIN, active=True)  # a team change is fine
    check_account_change(me, 8, role=Role.SALES, active=False)  # another account


def test_last_logins_are_read_from_the_audit_log(session: Session) -> None:
    from rapport.domain import AuditAction
    from rapport.store import audit

    seen = users.create_user(session=session, username=ext("seen"), role=Role.SALES)
    never = users.create_user(session=session, username=ext("never"), role=Role.SALES)
    for _ in range(2):
        entry = audit.record(
            session=session,
            actor=seen["username"],
            action=AuditAction.LOGIN,
            entity="users",
            entity_id=seen["id"],
        )
    audit.record(  # a later entry of another kind about the user is no log-in
        session=session, actor="admin", action=AuditAction.UPDATE, entity="users",
        entity_id=seen["id"],
    )  # fmt: skip
    found = audit.last_logins(session=session, user_ids=[seen["id"], never["id"]])
    assert list(found) == [seen["id"]]
    assert found[seen["id"]].replace(tzinfo=None) == entry["occurred_at"].replace(tzinfo=None)
    assert found[seen["id"]].tzinfo is not None
