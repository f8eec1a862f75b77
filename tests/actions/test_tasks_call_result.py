"""The call's result of a task marked done: one of :class:`rapport.domain.CallResult`,
checked by the product functions every adapter calls."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from rapport.actions.acting import Actor
from rapport.actions.tasks import TaskChange, call_result, change_task, finish_task
from rapport.domain import CallResult, TaskStatus
from rapport.errors import ValidationFailed
from rapport.i18n.enums import label
from rapport.i18n.errors import error_text
from rapport.store import tasks
from tests.store.factories import T0, customer

OPERATOR = Actor("operator")


def open_task(session: Session) -> int:
    c = customer(session)
    return tasks.add_task(session=session, task=tasks.NewTask(c["id"], "回访", T0), at=T0)


@pytest.mark.parametrize("result", list(CallResult))
def test_each_call_result_is_stored_as_its_code(session: Session, result: CallResult) -> None:
    row = finish_task(
        session=session, actor=OPERATOR, task_id=open_task(session), at=T0, result=result.value
    )
    assert (row["status"], row["result"]) == (TaskStatus.DONE, result.value)
    assert label(result, "zh_CN") != label(result, "en")


def test_no_result_is_allowed(session: Session) -> None:
    for blank in (None, "", "  "):
        row = finish_task(
            session=session, actor=OPERATOR, task_id=open_task(session), at=T0, result=blank
        )
        assert row["status"] == TaskStatus.DONE and row["result"] is None


@pytest.mark.parametrize("bad", ["spoke to her", "Reached", "call_back"])
def test_an_unknown_result_is_refused_naming_the_field_and_the_results(
    session: Session, bad: str
) -> None:
    task_id = open_task(session)
    with pytest.raises(ValidationFailed) as caught:
        finish_task(session=session, actor=OPERATOR, task_id=task_id, at=T0, result=bad)
    assert caught.value.field == "result"
    for code in CallResult:
        assert code.value in str(caught.value.hint)
        assert code.value in error_text(caught.value, "zh_CN")
    assert tasks.get(session=session, task_id=task_id)["status"] == TaskStatus.OPEN


def test_change_task_checks_the_result_too(session: Session) -> None:
    task_id = open_task(session)
    change = TaskChange(status=TaskStatus.DONE, result="spoke")
    with pytest.raises(ValidationFailed):
        change_task(session=session, actor=OPERATOR, task_id=task_id, change=change, at=T0)
    assert tasks.get(session=session, task_id=task_id)["status"] == TaskStatus.OPEN
    assert call_result(" callback ") is CallResult.CALLBACK
