"""The tasks of 我的工作台 My worklist: the open tasks the user sees, soonest due first, each
with its customer, title, script and priority, the overdue marked; *Done* (with the call's
result and a note) and *Skip* (with a reason) on each.

The list is :func:`rapport.actions.tasks.task_page` — the user's
:class:`~rapport.access.TaskScope` (a sales user: the tasks of their customers and those
given to them; a manager: their team's; an admin: all) — the writes
:func:`~rapport.actions.tasks.finish_task` and :func:`~rapport.actions.tasks.skip_task`, which
check the role and the scope and write the audit entry (``update`` of ``tasks``, ``via:
web``): the same functions as ``rapport tasks`` and the API's ``/tasks``. A manager or an admin
who picks an *Owner* on the worklist sees the tasks given to that user.

The section pages by keyset (``tasks_after``); HTMX swaps the section for another page and a
task's row after a write (the row then says what was done). Without JavaScript a write posts
the form and comes back to the worklist.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from rapport.access import WRITERS, Principal
from rapport.actions.acting import Actor
from rapport.actions.tasks import finish_task, skip_task, task_detail, task_page
from rapport.domain import CallResult, Role, TaskStatus, TicketPriority
from rapport.errors import NotFound, RapportError, ValidationFailed
from rapport.i18n.errors import error_text
from rapport.store.paging import Page, PageRequest, decode_cursor
from rapport.store.repository import utcnow
from rapport.store.tasks import TaskFilter
from rapport.web import render
from rapport.web.auth import CSRF, audit_read, client_address, roles, writing
from rapport.web.i18n import Formatter
from rapport.web.views.service import duration

router = APIRouter(include_in_schema=False)
#: Who works tasks here: the roles that may (``rapport.access.WRITERS["tasks"]``); service
#: agents on their own page (:mod:`rapport.web.views.tasks`), the others on the worklist.
ROLES = tuple(sorted(WRITERS["tasks"]))
Staff = Annotated[Principal, Depends(roles(*ROLES))]
#: Tasks of one page of the section.
PAGE_ROWS = 20
#: The call results the *Done* form offers: every :class:`~rapport.domain.CallResult`, as
#: the API and the CLI take them.
RESULTS = tuple(CallResult)
FormText = Annotated[str, Form(max_length=4_000)]


def _after(value: str | None) -> Any:
    if not value:
        return None
    try:
        return decode_cursor(value, field="tasks_after")
    except ValidationFailed:  # edited by hand or stale: the first page
        return None


def tasks_section(
    session: Any,
    user: Principal,
    *,
    owner_id: int | None,
    after: str | None,
    fmt: Formatter,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The section's page: the open tasks ``user`` sees (given to ``owner_id`` when one is
    picked), soonest due first, ``PAGE_ROWS`` after the cursor ``after``; each row with
    ``overdue`` (how long past due, or ``None``)."""
    moment = now or utcnow()
    filters = TaskFilter(status=TaskStatus.OPEN, assignee_id=owner_id)
    page: Page = task_page(
        session=session,
        principal=user,
        page=PageRequest(limit=PAGE_ROWS, after=_after(after), field="tasks_after"),
        filters=filters,
    )
    return {
        "rows": [task_row(r, moment, fmt) for r in page.data],
        "count": page.count,
        "next_cursor": page.next_cursor,
        "paged": bool(after),
        "results": RESULTS,
        "assignee_column": user.role is not Role.SALES,
    }


def task_row(row: dict[str, Any], now: dt.datetime, fmt: Formatter) -> dict[str, Any]:
    due = row["due_at"]
    late = now - due if due is not None and due < now else None
    return {
        **row,
        "priority": _enum(TicketPriority, row.get("priority")),
        "overdue": duration(late, fmt) if late is not None else None,
    }


def _enum(enum: type, value: Any) -> Any:
    try:
        return enum(getattr(value, "value", value)) if value else None
    except ValueError:
        return None


@router.get("/worklist/tasks")
def tasks_page(request: Request, user: Staff) -> Response:
    """The tasks section alone (another page of it, for HTMX); a plain request goes to the
    worklist, which shows it."""
    params = request.query_params
    if request.headers.get("hx-request") != "true":
        query = request.url.query
        return render.redirect(request, page_of(user) + (f"?{query}" if query else ""))
    fmt = render.formatter(request)
    owner = params.get("owner") or ""
    owner_id = render.whole_number(owner)
    if user.role in (Role.SALES, Role.SERVICE):
        owner_id = None
    with request.app.state.sessions() as session:
        section = tasks_section(
            session, user, owner_id=owner_id, after=params.get("tasks_after"), fmt=fmt
        )
    audit_read(request, user, _customers(section), _route(user))
    kept = {"owner": owner_id} if owner_id is not None else {}
    return render.page(request, "worklist_tasks.html", {"tasks": section, "kept": kept})


def page_of(user: Principal) -> str:
    """The page that shows ``user`` their tasks."""
    return "/tasks" if user.role is Role.SERVICE else "/worklist"


def _route(user: Principal) -> str:
    return "web.tasks" if user.role is Role.SERVICE else "web.worklist"


def _customers(section: dict[str, Any]) -> list[int]:
    return list(dict.fromkeys(r["customer_id"] for r in section["rows"]))


def _task_id(value: str) -> int:
    return render.whole_number(value) or 0  # no task has 0: the store's not-found


@router.post("/worklist/tasks/{task_id}/done", dependencies=CSRF)
def task_done(
    request: Request, user: Staff, task_id: str, result: FormText = "", note: FormText = ""
) -> Response:
    """Mark the task done with the call's result and a note."""
    number = _task_id(task_id)

    def work(session: Any, actor: Actor) -> dict[str, Any]:
        return finish_task(
            session=session,
            actor=actor,
            task_id=number,
            at=utcnow(),
            result=result.strip() or None,
            note=note.strip() or None,
        )

    return _write(request, user, number, "done", {"result": result, "note": note}, work)


@router.post("/worklist/tasks/{task_id}/skip", dependencies=CSRF)
def task_skip(request: Request, user: Staff, task_id: str, reason: FormText = "") -> Response:
    """Skip the task, saying why (required)."""
    number = _task_id(task_id)
    fmt = render.formatter(request)
    if not reason.strip():
        return _answer(
            request,
            number,
            {"error": fmt.t("card.error_required"), "form": "skip", "values": {}},
        )

    def work(session: Any, actor: Actor) -> dict[str, Any]:
        return skip_task(session=session, actor=actor, task_id=number, at=utcnow(), reason=reason)

    return _write(request, user, number, "skip", {"reason": reason}, work)


def _write(
    request: Request,
    user: Principal,
    number: int,
    form: str,
    values: dict[str, str],
    work: Any,
) -> Response:
    fmt = render.formatter(request)
    actor = Actor.staff(user, address=client_address(request))
    try:
        row = writing(request, lambda session: work(session, actor))
    except NotFound:
        return render.page(request, "not_found.html", status=404)
    except RapportError as exc:  # no longer open, too long, not this role's
        return _answer(
            request, number, {"error": error_text(exc, fmt.locale), "form": form, "values": values}
        )
    return _answer(request, number, {"done": row})


def _answer(request: Request, number: int, state: dict[str, Any]) -> Response:
    """The task's row after a write (HTMX), else back to the worklist (303 when written, the
    row's problem on a page of its own, 422, when not)."""
    htmx = request.headers.get("hx-request") == "true"
    user: Principal = request.state.principal
    if "done" in state and not htmx:
        return render.redirect(request, page_of(user) + "#tasks")
    fmt = render.formatter(request)
    found = state.get("done")
    if found is None:
        with request.app.state.sessions() as session:
            try:
                found = task_detail(session=session, principal=user, task_id=number)
            except NotFound:
                return render.page(request, "not_found.html", status=404)
    context = {
        "task": task_row(found, utcnow(), fmt),
        "state": state,
        "results": RESULTS,
        "assignee_column": user.role is not Role.SALES,
        "back": page_of(user) + "#tasks",
    }
    if htmx:
        return render.page(request, "worklist_task_row.html", context)
    return render.page(request, "worklist_task_refused.html", context, status=422)
