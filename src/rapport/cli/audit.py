"""``rapport audit``: read the audit log — who did what to which record, when, from where.

Newest first, filtered by user, customer, action, entity and time, ``--format
table|json|csv``. Reading the log from the command line needs access to the store (as every
command); over the API it is ``GET /audit``, for admins only.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer

from rapport.cli.output import Column, FormatOption, OutputFormat, emit
from rapport.domain import AuditAction
from rapport.i18n.labels import t


def parse_moment(text: str | None, option: str, tz: Any, *, end_of_day: bool) -> dt.datetime | None:
    """``--since``/``--until``: a local date (its start, or with ``end_of_day`` the next
    local midnight) or a date and time (local unless it carries a zone); naive UTC."""
    from rapport.errors import ValidationFailed

    if text is None:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            local = dt.datetime.combine(day + dt.timedelta(days=end_of_day), dt.time(), tzinfo=tz)
        else:
            local = dt.datetime.fromisoformat(text)
            local = local if local.tzinfo else local.replace(tzinfo=tz)
    except ValueError:
        raise ValidationFailed(
            "{option} {text!r}: expected a date like 2024-12-31 or 2024-12-31T09:30",
            field=option.lstrip("-"),
            key="moment_expected",
            params={"option": option, "text": text},
        ) from None
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _detail(value: Any) -> str:
    if not value:
        return "—"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def audit_command(
    user: Annotated[
        str | None, typer.Option("--user", help="Actor: a user name (also via their tokens).")
    ] = None,
    customer: Annotated[
        int | None, typer.Option("--customer", min=1, help="Entries about this customer id.")
    ] = None,
    action: Annotated[
        AuditAction | None, typer.Option("--action", help="Only this action.")
    ] = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="Only records of this table, e.g. orders.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this local date or time (inclusive).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="To this local date (inclusive) or time.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Entries to show.")] = 50,
    before: Annotated[
        int | None,
        typer.Option("--before", min=1, help="Only entries older than this id (next page)."),
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """The audit log, newest first: who did what to which record, when and from where."""
    from rapport.cli.common import store_engine
    from rapport.config import get_settings
    from rapport.errors import ValidationFailed
    from rapport.i18n.enums import label
    from rapport.store import audit, session_scope
    from rapport.store.paging import PageRequest

    settings = get_settings()
    tz, locale = settings.tz, settings.locale
    start = parse_moment(since, "--since", tz, end_of_day=False)
    end = parse_moment(until, "--until", tz, end_of_day=True)
    if start is not None and end is not None and start >= end:
        raise ValidationFailed(
            "--until must be after --since", field="until", key="until_before_since"
        )
    page = PageRequest(limit=limit)
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            found, count = audit.list_entries(
                session=session,
                limit=page.fetch,
                before_id=before,
                actor=user,
                customer_id=customer,
                action=action,
                entity=entity,
                since=start,
                until=end,
            )
    finally:
        engine.dispose()
    shown = page.cut(found, count=count)
    rows = shown.data
    for r in rows:
        r["occurred_at"] = r["occurred_at"].replace(tzinfo=r["occurred_at"].tzinfo or dt.UTC)
    if output == OutputFormat.table:
        for r in rows:
            r["when"] = r["occurred_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
            r["action_label"] = label(AuditAction(r["action"]), locale)
    columns = [
        Column("id", t("audit.id", locale), numeric=True, keep=1),
        Column("occurred_at", t("audit.occurred_at", locale)),
        Column("actor", t("audit.actor", locale)),
        Column("actor_user_id", t("audit.actor_user_id", locale), numeric=True),
        Column("action", t("audit.action", locale)),
        Column("entity", t("audit.entity", locale)),
        Column("entity_id", t("audit.entity_id", locale)),
        Column("client_address", t("audit.client_address", locale)),
        Column("detail", t("audit.detail", locale)),
    ]
    if output == OutputFormat.table:
        columns = [
            # times, ids and addresses never wrap (numeric=True: kept whole)
            Column("id", t("audit.id", locale), numeric=True, text=str, keep=3),
            Column("when", t("audit.occurred_at", locale), numeric=True, text=str),
            Column("actor", t("audit.actor", locale)),
            Column("action_label", t("audit.action", locale)),
            Column("entity", t("audit.entity", locale)),
            Column("entity_id", t("audit.entity_id", locale), keep=4),
            Column("client_address", t("audit.client_address", locale), numeric=True, keep=2),
            Column("detail", t("audit.detail", locale), text=_detail, keep=1),
        ]
    emit(
        rows,
        columns,
        output,
        title=t("audit.title", locale),
        caption=t("audit.caption", locale).format(
            count=f"{count:,}", shown=len(rows), tz=settings.timezone
        ),
        key="entries",
        meta={"count": count, "next_before": shown.next_key[0] if shown.next_key else None},
        locale=locale,
    )
