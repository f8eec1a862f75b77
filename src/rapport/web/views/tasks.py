"""The page 我的任务 My tasks (``/tasks``) of service agents: the open tasks given to them and
to their team's queue (:class:`rapport.access.TaskScope`), worked as on the worklist — the
section, its pages and its writes are :mod:`rapport.web.views.worklist_tasks`. Sales users,
managers and admins have the same section on 我的工作台 My worklist; the page refuses them
(403), and analysts, who do not work tasks. The customers shown are audited as a read of
personal data (``read_pii``, route ``web.tasks``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rapport.access import Principal
from rapport.domain import Role
from rapport.web import render
from rapport.web.auth import audit_read, roles
from rapport.web.nav import NavEntry
from rapport.web.views.worklist_tasks import tasks_section

router = APIRouter(include_in_schema=False)
NAV = NavEntry(path="/tasks", key="nav.tasks", order=52, roles=frozenset({Role.SERVICE}))
Agent = Annotated[Principal, Depends(roles(Role.SERVICE))]


@router.get("/tasks")
def tasks_page(request: Request, user: Agent) -> Response:
    fmt = render.formatter(request)
    with request.app.state.sessions() as session:
        section = tasks_section(
            session, user, owner_id=None, after=request.query_params.get("tasks_after"), fmt=fmt
        )
    audit_read(
        request, user, list(dict.fromkeys(r["customer_id"] for r in section["rows"])), "web.tasks"
    )
    return render.page(request, "tasks.html", {"tasks": section, "kept": {}})
