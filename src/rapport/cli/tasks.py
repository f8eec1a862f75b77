"""``rapport tasks``: the tasks for staff — listed, done, skipped, made by hand, expired.

The command line is the operator's: it sees every task. ``--by USER`` names the staff
member a change is made for (stamped on the task and in the audit log; without it the log
says ``cli``). The work itself is :mod:`rapport.actions.tasks`; who sees what through the
API is :class:`rapport.access.TaskScope` (docs/actions.md "Tasks").
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, cast

import typer

from rapport.cli.output import Column, FormatOption, OutputFormat, emit
from rapport.cli.tasks_alerts import ByOption, actor, make_change, page_request, print_changed
from rapport.domain import CallResult, TaskStatus, TicketPriority

tasks_app = typer.Typer(
    help="Tasks for staff: calls, visits, gifts — listed, done, skipped, added, expired.",
    no_args_is_help=True,
)


def _moment(text: str | None, option: str, *, end_of_day: bool) -> dt.datetime | None:
    from rapport.cli.audit import parse_moment
    from rapport.config import get_settings

    moment = parse_moment(text, option, get_settings().tz, end_of_day=end_of_day)
    return None if moment is None else moment.replace(tzinfo=dt.UTC)


def _user_id(session: Any, username: str | None) -> int | None:
    from rapport.store import users

    if username is None:
        return None
    return int(users.get_by_username(session=session, username=username)["id"])


def _columns(locale: str) -> list[Column]:
    from rapport.i18n.tasks_alerts import text

    return [
        Column("id", text("tasks.id", locale), numeric=True),
        Column("customer_id", text("tasks.customer_id", locale), numeric=True),
        Column("customer_name", text("tasks.customer", locale), keep=3),
        Column("title", text("tasks.task", locale), min_width=12),
        Column("priority", text("tasks.priority", locale), keep=1),
        Column("status", text("tasks.status", locale)),
        Column("due_at", text("tasks.due_at", locale)),
        Column("assignee_name", text("tasks.assignee", locale), keep=2),
        Column("team", text("tasks.team", locale), keep=1),
        Column("result", text("tasks.result", locale), keep=1),
        Column("note", text("tasks.note", locale), keep=1),
        Column("skip_reason", text("tasks.skip_reason", locale), keep=1),
    ]


def _print_rows(rows: list[dict[str, Any]], output: OutputFormat, meta: dict[str, Any]) -> None:
    from rapport.config import get_settings
    from rapport.i18n.enums import label
    from rapport.i18n.tasks_alerts import text

    settings = get_settings()
    locale, tz = settings.locale, settings.tz
    if output == OutputFormat.table:
        for r in rows:
            r["due_at"] = r["due_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M")
            r["status"] = label(TaskStatus(r["status"]), locale)
            r["priority"] = label(TicketPriority(r["priority"]), locale)
    caption = text("tasks.count", locale, count=meta.get("count", len(rows)))
    if meta.get("next_cursor"):
        caption += " · " + text("tasks.more", locale, after=meta["next_cursor"])
    emit(
        rows,
        _columns(locale),
        output,
        title=text("tasks.title", locale),
        caption=caption,
        key="tasks",
        meta=meta,
        locale=locale,
    )


@tasks_app.command("list")
def list_command(
    status: Annotated[TaskStatus | None, typer.Option(help="open, done, skipped, expired.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Tasks of this username.")] = None,
    team: Annotated[str | None, typer.Option(help="Tasks of this team.")] = None,
    customer: Annotated[int | None, typer.Option(min=1, help="Tasks of this customer id.")] = None,
    due_after: Annotated[
        str | None, typer.Option(help="Due at or after a local date or time.")
    ] = None,
    due_before: Annotated[str | None, typer.Option(help="Due before a local date or time.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Tasks per page.")] = 50,
    after: Annotated[str | None, typer.Option(help="The next page's cursor.")] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """The tasks, soonest due first, one page at a time (--after: the cursor the previous
    page printed)."""
    from rapport.actions.tasks import task_page
    from rapport.cli.common import store_engine
    from rapport.store import session_scope
    from rapport.store.tasks import TaskFilter

    page = page_request(limit, after)
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            filters = TaskFilter(
                status=status,
                assignee_id=_user_id(session, assignee),
                team=team,
                customer_id=customer,
                due_after=_moment(due_after, "--due-after", end_of_day=False),
                due_before=_moment(due_before, "--due-before", end_of_day=False),
            )
            found = task_page(session=session, principal=None, page=page, filters=filters)
    finally:
        engine.dispose()
    meta = {"count": found.count, "next_cursor": found.next_cursor}
    _print_rows(found.data, output, meta)


@tasks_app.command("done")
def done_command(
    task_id: Annotated[int, typer.Argument(min=1, help="The task's id.")],
    result: Annotated[
        CallResult | None,
        typer.Option(help="The call's result: reached, no_answer, callback, declined."),
    ] = None,
    note: Annotated[str | None, typer.Option(help="What came of it.")] = None,
    by: ByOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Mark an open task done, with the call's result and a note."""
    from rapport.actions.tasks import finish_task

    def done(session: Any, actor: Any, at: dt.datetime) -> dict[str, Any]:
        return finish_task(
            session=session, actor=actor, task_id=task_id, at=at, result=result, note=note
        )

    make_change(by, done, "tasks.done", output, _print_rows)


@tasks_app.command("skip")
def skip_command(
    task_id: Annotated[int, typer.Argument(min=1, help="The task's id.")],
    reason: Annotated[str, typer.Option(help="Why it is not done (required).")],
    by: ByOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Skip an open task, saying why."""
    from rapport.actions.tasks import skip_task

    def skip(session: Any, actor: Any, at: dt.datetime) -> dict[str, Any]:
        return skip_task(session=session, actor=actor, task_id=task_id, at=at, reason=reason)

    make_change(by, skip, "tasks.skipped", output, _print_rows)


@tasks_app.command("add")
def add_command(
    customer: Annotated[int, typer.Argument(min=1, help="The customer's id.")],
    title: Annotated[str, typer.Option(help="What to do, e.g. 回访：询问使用体验.")],
    due: Annotated[str, typer.Option(help="A local date (due by 23:59) or date and time.")],
    assignee: Annotated[str | None, typer.Option(help="The username it is for.")] = None,
    team: Annotated[str | None, typer.Option(help="The team's queue it goes to.")] = None,
    priority: Annotated[TicketPriority, typer.Option(help="low, normal, high, urgent.")] = (
        TicketPriority.NORMAL
    ),
    script: Annotated[str | None, typer.Option(help="What to say or do.")] = None,
    by: ByOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Add a task by hand for a user (--assignee) or a team's queue (--team); with neither,
    for the user of --by."""
    from rapport.actions.tasks import add_task
    from rapport.cli.common import store_engine
    from rapport.store import session_scope
    from rapport.store.repository import utcnow
    from rapport.store.tasks import NewTask

    due_at = cast(dt.datetime, _moment(due, "--due", end_of_day=True))  # given: never None
    if len(due) == 10:  # a date alone: due by the end of its working day, 23:59 local
        due_at -= dt.timedelta(minutes=1)
    engine = store_engine()
    try:
        with session_scope(engine, writing=True) as session:
            task = NewTask(
                customer_id=customer,
                title=title,
                due_at=due_at,
                priority=priority,
                assignee_id=_user_id(session, assignee),
                team=team,
                script=script,
            )
            row = add_task(session=session, actor=actor(session, by), task=task, at=utcnow())
    finally:
        engine.dispose()
    print_changed(row, "tasks.added", output, _print_rows)


@tasks_app.command("expire")
def expire_command(
    at: Annotated[
        str | None, typer.Option(help="As of a local date (its end) or time; default: now.")
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Mark expired the open tasks past due by more than [tasks] expire_after_days."""
    from rapport.cli.common import console, store_engine
    from rapport.config import get_settings, load_rules
    from rapport.i18n.tasks_alerts import text
    from rapport.store import session_scope
    from rapport.store.repository import utcnow
    from rapport.store.tasks import expire_tasks

    settings = get_settings()
    moment = _moment(at, "--at", end_of_day=True) or utcnow()
    days = load_rules(settings).tasks.expire_after_days
    engine = store_engine()
    try:
        with session_scope(engine, writing=True) as session:
            count = expire_tasks(session=session, at=moment, after_days=days)
    finally:
        engine.dispose()
    if output == OutputFormat.table:
        console.print(text("tasks.expired", settings.locale, count=count))
    else:
        emit(
            [{"expired": count, "at": moment}],
            [Column("expired", "expired", numeric=True), Column("at", "at")],
            output,
            key="rows",
        )
