"""What ``rapport tasks`` and ``rapport alerts`` share: the staff member a change is made
for (``--by``), the page a list asks for (``--limit``, ``--after``), and a change of one
task or alert, made in one writing transaction and printed.

The command line is the operator's: without ``--by`` a change is stamped with the command
line's own actor (the audit log says ``cli``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rapport.cli.output import OutputFormat

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rapport.actions.acting import Actor
    from rapport.store.paging import PageRequest

ByOption = Annotated[
    str | None,
    typer.Option("--by", help="The staff member (username) the change is made for."),
]

#: Prints rows of tasks or alerts: ``(rows, output, meta)``.
PrintRows = Callable[[list[dict[str, Any]], OutputFormat, dict[str, Any]], None]
#: A change of one task or alert: ``(session, actor, now)`` → the row as changed.
Change = Callable[["Session", "Actor", dt.datetime], dict[str, Any]]


def page_request(limit: int, after: str | None) -> PageRequest:
    """The page ``--limit`` and ``--after`` (the cursor the previous page printed) ask for."""
    from rapport.store.paging import PageRequest, decode_cursor

    cursor = decode_cursor(after, field="after") if after else None
    return PageRequest(limit=limit, after=cursor, field="after")


def actor(session: Session, by: str | None) -> Actor:
    """Who a change is made for: the user named by ``--by``, else the command line."""
    from rapport.actions.acting import CLI_ACTOR, Actor
    from rapport.store import users

    if by is None:
        return Actor(CLI_ACTOR)
    user = users.get_by_username(session=session, username=by)
    return Actor(user["username"], user["id"])


def print_changed(
    row: dict[str, Any], message_key: str, output: OutputFormat, print_rows: PrintRows
) -> None:
    """A row just changed: the message ``message_key`` naming its id (a table), or the
    row itself (JSON, CSV)."""
    from rapport.cli.common import console
    from rapport.config import get_settings
    from rapport.i18n.tasks_alerts import text

    if output == OutputFormat.table:
        console.print(text(message_key, get_settings().locale, id=row["id"]))
    else:
        print_rows([row], output, {"count": 1})


def make_change(
    by: str | None, act: Change, message_key: str, output: OutputFormat, print_rows: PrintRows
) -> None:
    """Make the change ``act`` for the staff member ``--by`` in one writing transaction of
    the store, and print the row it changed (:func:`print_changed`)."""
    from rapport.cli.common import store_engine
    from rapport.store import session_scope
    from rapport.store.repository import utcnow

    engine = store_engine()
    try:
        with session_scope(engine, writing=True) as session:
            row = act(session, actor(session, by), utcnow())
    finally:
        engine.dispose()
    print_changed(row, message_key, output, print_rows)
