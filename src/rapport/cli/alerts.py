"""``rapport alerts``: the alert run, and the alerts listed, acknowledged and resolved.

``run`` raises the alerts of a day (:func:`rapport.actions.alerts.raise_alerts`: one per
condition, resolved by themselves when the condition is gone, messages queued in the
outbox); running it again for the same day raises nothing new. The command line is the
operator's: it sees every alert; ``--by USER`` names the staff member an acknowledgement or
resolution is made for (docs/actions.md "Alerts").
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

import typer

from rapport.cli.output import Column, FormatOption, OutputFormat, emit
from rapport.cli.tasks_alerts import ByOption, make_change, page_request
from rapport.domain import AlertKind, AlertSeverity, AlertStatus

alerts_app = typer.Typer(
    help="Alerts for staff: raised each day, acknowledged, resolved.",
    no_args_is_help=True,
)

StatusFilter = Literal["open", "acknowledged", "resolved", "unresolved"]


def _columns(locale: str) -> list[Column]:
    from rapport.i18n.tasks_alerts import text

    return [
        Column("id", text("alerts.id", locale), numeric=True),
        Column("kind", text("alerts.kind", locale)),
        Column("severity", text("alerts.severity", locale)),
        Column("status", text("alerts.status", locale)),
        Column("customer_id", text("alerts.customer", locale), numeric=True),
        Column("raised_at", text("alerts.raised_at", locale)),
        Column("last_seen_at", text("alerts.last_seen_at", locale), keep=1),
        Column("details", text("alerts.details", locale), keep=2, min_width=20),
    ]


def _print_rows(rows: list[dict[str, Any]], output: OutputFormat, meta: dict[str, Any]) -> None:
    from rapport.config import get_settings
    from rapport.i18n.enums import label
    from rapport.i18n.tasks_alerts import text

    settings = get_settings()
    locale, tz = settings.locale, settings.tz
    if output == OutputFormat.table:
        for r in rows:
            for name in ("raised_at", "last_seen_at"):
                r[name] = r[name].astimezone(tz).strftime("%Y-%m-%d %H:%M")
            r["kind"] = label(AlertKind(r["kind"]), locale)
            r["severity"] = label(AlertSeverity(r["severity"]), locale)
            r["status"] = label(AlertStatus(r["status"]), locale)
            r["details"] = json.dumps(r["details"] or {}, ensure_ascii=False)
    caption = text("alerts.count", locale, count=meta.get("count", len(rows)))
    if meta.get("next_cursor"):
        caption += " · --after " + meta["next_cursor"]
    emit(
        rows,
        _columns(locale),
        output,
        title=text("alerts.title", locale),
        caption=caption,
        key="alerts",
        meta=meta,
        locale=locale,
    )


@alerts_app.command("list")
def list_command(
    status: Annotated[
        StatusFilter | None,
        typer.Option(help="open, acknowledged, resolved, or unresolved (the first two)."),
    ] = None,
    kind: Annotated[AlertKind | None, typer.Option(help="The kind of alert.")] = None,
    severity: Annotated[AlertSeverity | None, typer.Option(help="info, warning, critical.")] = None,
    customer: Annotated[int | None, typer.Option(min=1, help="Alerts of this customer.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Alerts per page.")] = 50,
    after: Annotated[str | None, typer.Option(help="The next page's cursor.")] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """The alerts, newest raised first, one page at a time."""
    from rapport.actions.alerts import alert_page
    from rapport.cli.common import store_engine
    from rapport.store import session_scope
    from rapport.store.alerts import AlertFilter

    page = page_request(limit, after)
    filters = AlertFilter(
        status=status if status in (None, "unresolved") else AlertStatus(status),
        kind=kind,
        severity=severity,
        customer_id=customer,
    )
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            found = alert_page(session=session, principal=None, page=page, filters=filters)
    finally:
        engine.dispose()
    _print_rows(found.data, output, {"count": found.count, "next_cursor": found.next_cursor})


def _change(alert_id: int, by: str | None, output: OutputFormat, *, resolve: bool) -> None:
    from rapport.actions.alerts import acknowledge_alert, resolve_alert

    act = resolve_alert if resolve else acknowledge_alert

    def change(session: Any, actor: Any, at: dt.datetime) -> dict[str, Any]:
        return act(session=session, actor=actor, alert_id=alert_id, at=at)

    key = "alerts.resolved" if resolve else "alerts.acknowledged"
    make_change(by, change, key, output, _print_rows)


@alerts_app.command("ack")
def ack_command(
    alert_id: Annotated[int, typer.Argument(min=1, help="The alert's id.")],
    by: ByOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Acknowledge an alert: someone is on it."""
    _change(alert_id, by, output, resolve=False)


@alerts_app.command("resolve")
def resolve_command(
    alert_id: Annotated[int, typer.Argument(min=1, help="The alert's id.")],
    by: ByOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Resolve an alert (it opens again by itself if its condition returns)."""
    _change(alert_id, by, output, resolve=True)


@alerts_app.command("run")
def run_command(
    day: Annotated[
        str | None, typer.Option(help="The local day to run for (default: today).")
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Raise the alerts of a day, resolve those whose condition is gone, and queue the
    messages of the new ones; running it again raises nothing new."""
    from rapport.actions.alerts import raise_alerts
    from rapport.cli.common import console, store_engine
    from rapport.config import get_settings
    from rapport.errors import ValidationFailed
    from rapport.i18n.enums import label
    from rapport.i18n.tasks_alerts import text

    settings = get_settings()
    try:
        chosen = dt.date.fromisoformat(day) if day else None
    except ValueError:
        raise ValidationFailed(
            "{option} {text!r}: expected a date like 2024-12-31",
            field="day",
            key="alerts_day_expected",
            params={"option": "--day", "text": day},
        ) from None
    store_engine().dispose()  # a missing or outdated store: its own clear error first
    run = raise_alerts(settings, chosen)
    if output != OutputFormat.table:
        summary = run.as_dict()
        emit([summary], [Column(k, k) for k in summary], output, key="runs")
        return
    locale = settings.locale
    console.print(
        text(
            "alerts.run",
            locale,
            day=run.day.isoformat(),
            raised=run.raised_total,
            seen=run.seen,
            resolved=run.resolved,
            messages=run.messages,
        )
    )
    for kind, count in sorted(run.raised.items()):
        console.print(
            text("alerts.run_kind", locale, kind=label(AlertKind(kind), locale), count=count)
        )
    for why in run.not_judged:
        console.print(text(f"alerts.not_judged.{why}", locale))
