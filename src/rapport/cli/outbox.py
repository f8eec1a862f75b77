"""``rapport outbox``: the messages waiting to leave and what became of them.

``list`` shows messages newest first (``--status dead`` lists the dead letters with their
last error), ``stats`` counts them per channel and status, ``retry ID`` sends a dead
letter again, ``send`` runs one delivery pass now (:func:`rapport.actions.delivery.deliver`;
``rapport worker`` does it every ``[messages] poll_seconds``).
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from rapport.cli.output import Column, FormatOption, OutputFormat, emit
from rapport.domain import MessageChannel, OutboxStatus

outbox_app = typer.Typer(
    help="The outbox: messages waiting to leave, sent, retried or dead.",
    no_args_is_help=True,
)


def _label(locale: str) -> Any:
    from rapport.i18n.enums import label

    def show(value: Any) -> str:
        return "—" if value is None else label(value, locale)

    return show


@outbox_app.command("list")
def list_command(
    status: Annotated[
        OutboxStatus | None, typer.Option("--status", help="Only messages in this state.")
    ] = None,
    channel: Annotated[
        MessageChannel | None, typer.Option("--channel", help="Only messages of this channel.")
    ] = None,
    before: Annotated[
        int | None, typer.Option("--before", help="Start below this message id (the next page).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Rows to show.")] = 50,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Messages of the outbox, newest first, with their state, attempts and last error."""
    from rapport.cli.common import store_engine
    from rapport.config import get_settings
    from rapport.i18n.worker import text
    from rapport.store import outbox, session_scope

    locale = get_settings().locale
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            rows = outbox.list_messages(
                session=session, status=status, channel=channel, before_id=before, limit=limit
            )
    finally:
        engine.dispose()
    for row in rows:
        row["channel"] = MessageChannel(row["channel"])
        row["status"] = OutboxStatus(row["status"])
    show = _label(locale)
    columns = [
        Column("id", text("id", locale), numeric=True),
        Column("idempotency_key", text("key", locale), keep=3),
        Column("channel", text("channel", locale), text=show),
        Column("recipient", text("recipient", locale), keep=2),
        Column("status", text("status", locale), text=show),
        Column("attempts", text("attempts", locale), numeric=True),
        Column("next_attempt_at", text("next_attempt_at", locale), keep=4),
        Column("last_error", text("last_error", locale), keep=1, min_width=20),
        Column("sent_at", text("sent_at", locale), keep=5),
    ]
    emit(rows, columns, output, title=text("list_title", locale), locale=locale, key="messages")


@outbox_app.command("stats")
def stats_command(output: FormatOption = OutputFormat.table) -> None:
    """Messages per channel and state, and how many are due now."""
    from rapport.cli.common import store_engine
    from rapport.config import get_settings
    from rapport.i18n.worker import text
    from rapport.store import outbox, session_scope
    from rapport.store.repository import utcnow

    settings = get_settings()
    locale = settings.locale
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            counts = outbox.stats(session=session, at=utcnow())
    finally:
        engine.dispose()
    rows = [
        {"channel": MessageChannel(c), "status": OutboxStatus(s), "messages": n}
        for (c, s), n in sorted(counts.counts.items())
    ]
    oldest = counts.oldest_due_at
    caption = (
        text("due", locale, due=counts.due, oldest=oldest.astimezone(settings.tz).isoformat())
        if oldest is not None
        else text("nothing_due", locale)
    )
    show = _label(locale)
    columns = [
        Column("channel", text("channel", locale), text=show),
        Column("status", text("status", locale), text=show),
        Column("messages", text("messages", locale), numeric=True),
    ]
    emit(
        rows,
        columns,
        output,
        title=text("stats_title", locale),
        caption=caption,
        locale=locale,
        key="counts",
        meta={"due": counts.due, "oldest_due_at": oldest},
    )


@outbox_app.command("retry")
def retry_command(
    message_id: Annotated[int, typer.Argument(help="The message's id (`rapport outbox list`).")],
) -> None:
    """Send a dead letter again (after fixing its cause), with a fresh count of attempts."""
    from rapport.actions.delivery import retry_message
    from rapport.cli.common import console, store_engine
    from rapport.config import get_settings
    from rapport.i18n.enums import label
    from rapport.i18n.worker import text

    settings = get_settings()
    store_engine().dispose()  # the store exists and is current
    done = retry_message(settings, message_id=message_id, actor=f"cli:{getpass.getuser()}")
    status = label(OutboxStatus(str(done["previous_status"])), settings.locale)
    console.print(
        f"[green]✓[/] {text('retry_done', settings.locale, id=message_id, status=status)}",
        highlight=False,
    )


@outbox_app.command("send")
def send_command(
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Send at most this many messages.")
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Send the messages due now, once (the worker does it all the time)."""
    from rapport.actions.delivery import deliver
    from rapport.cli.common import store_engine
    from rapport.config import get_settings
    from rapport.i18n.worker import text

    settings = get_settings()
    locale = settings.locale
    store_engine().dispose()
    run = deliver(settings, limit=limit)
    names = ("claimed", "sent", "retried", "dead", "refused", "lost", "seconds")
    columns = [Column(n, text(n, locale), numeric=True) for n in names]
    emit(
        [run.as_dict()], columns, output, title=text("send_title", locale), locale=locale, key="run"
    )
