"""``rapport score``, ``segments``, ``tiers``, ``stages``, ``diamonds``, ``movements``: the
per-customer scores and the reports on their snapshots, and what the other snapshot
commands share (formatting, the snapshot date check).

The reports are :mod:`rapport.reports.snapshots`' functions, run through a session on the
store; these commands parse the options, call one of them and render its rows with
``--format table|json|csv`` (:mod:`rapport.cli.output`). The customer 360 card is in
:mod:`rapport.cli.customer`, ``clusters`` and ``relations`` in :mod:`rapport.cli.clusters`
and :mod:`rapport.cli.relations`; the shared options in :mod:`rapport.cli.options`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from rapport.cli.common import console, store_engine
from rapport.cli.options import EngineOption
from rapport.cli.options import SnapshotAsOfOption as AsOfOption
from rapport.cli.output import Column, FormatOption, OutputFormat, emit, render_table
from rapport.config import Settings, get_settings, load_rules
from rapport.errors import NotFound, ValidationFailed
from rapport.i18n.labels import t
from rapport.reports import snapshots as reports

DEGREE_KEYS = ("satisfaction", "loyalty", "engagement", "advocacy")
SCORE_KEYS = (*DEGREE_KEYS, "relationship_index")


# --- formatting --------------------------------------------------------------------------


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: Any, digits: int = 1) -> str:
    """A number for people: a dash for null, thousands separators."""
    if missing(value):
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):,.{digits}f}"


def percent(value: Any) -> str:
    """A percentage already scaled to 0–100, one decimal (a dash for null)."""
    return "—" if missing(value) else f"{float(value):.1f}%"


def share(value: Any) -> str:
    """A share of 0–1 as a percentage, one decimal (a dash for null)."""
    return "—" if missing(value) else f"{float(value) * 100:.1f}%"


def group_label(by: str, value: str | None, locale: str) -> str:
    """The label of a segment, tier or stage id in ``locale`` (a dash for none)."""
    return reports.group_label(by, value, locale) or "—"


def parse_date(text: str | None, option: str = "--as-of") -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            "{option} {text!r}: expected a date like 2024-12-31",
            field=option.strip("-"),
            key="date_expected",
            params={"option": option, "text": text},
        ) from None


def local_time(moment: dt.datetime | None, settings: Settings) -> str:
    """A naive-UTC (or aware) moment as local ``YYYY-MM-DD HH:MM`` (a dash for none)."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(settings.tz):%Y-%m-%d %H:%M}"


def _customer_id(value: Any) -> str:
    return "—" if value is None else f"#{value}"


@contextmanager
def store_session() -> Iterator[Any]:
    """A session on the configured store (the reports read through it), closed after."""
    from rapport.store import session_scope

    store = store_engine()
    try:
        with session_scope(store) as session:
            yield session
    finally:
        store.dispose()


# --- rapport score -------------------------------------------------------------------------


def default_day(settings: Settings) -> tuple[dt.date, bool]:
    """The day ``rapport score`` scores without ``--as-of`` and whether it is the last day
    with data (:func:`rapport.store.summary.default_score_day`)."""
    from rapport.store import session_scope
    from rapport.store.summary import default_score_day

    store = store_engine()
    try:
        with session_scope(store) as session:
            return default_score_day(session=session, tz=settings.tz)
    finally:
        store.dispose()


def score_command(
    as_of: AsOfOption = None,
    engine: EngineOption = None,
) -> None:
    """Compute every customer's scores as of the end of a local day (default: the last day
    with data, or today) and store them as that date's snapshot (replacing it; other dates
    are kept).

    Without --as-of the day is today unless the store's orders, events, interactions,
    tickets and survey answers all end before today (data imported from an export): then it
    is the last day with data, and the command says so.
    """
    from rapport.analytics.scores import COVERED
    from rapport.scoring import run

    settings = get_settings()
    locale = settings.locale
    day = parse_date(as_of)
    if day is None:
        day, last = default_day(settings)
        if last:
            console.print(t("scoring_last_day", locale).format(day=day), highlight=False)
    with console.status("scoring …") as status:
        result = run(settings, as_of=day, engine=engine, on_step=lambda s: status.update(f"{s} …"))
    seconds = t("unit.seconds", locale)
    timings = ", ".join(
        f"{t(f'step.{k}', locale)} {v:.1f} {seconds}" for k, v in result.seconds.items()
    )
    console.print(
        f"[green]✓[/] {result.rows:,} {t('customers', locale)} — {result.as_of} "
        f"({local_time(result.moment, settings)} {settings.timezone}); {timings}"
    )
    cover = result.coverage  # of the snapshot just written
    rows = [
        {
            "figure": t("rfm" if name == "r_score" else name, locale),
            "customers": cover[name],
            "coverage": cover[name] * 100 / cover["customers"] if cover["customers"] else None,
        }
        for name in COVERED
    ]
    columns = [
        Column("figure", t("figure", locale)),
        Column("customers", t("customers", locale), numeric=True),
        Column("coverage", t("coverage", locale), numeric=True, text=percent),
    ]
    console.print(render_table(rows, columns, title=t("coverage", locale), locale=locale))


# --- group reports ---------------------------------------------------------------------------


def snapshot_day(as_of: dt.date | None, option: str = "--as-of") -> dt.date:
    """The snapshot date a command reads (``as_of`` or the latest), checked in the store
    before any analytics runs: no snapshot at all is :class:`NotFound`; none on ``as_of``
    a validation error naming ``option`` and the dates that exist."""
    from rapport.store.scores import require_snapshot

    with store_session() as session:
        return require_snapshot(session=session, as_of=as_of, field=option)


def no_snapshot(as_of: str | None) -> NotFound:
    return NotFound(
        "no score snapshot dated {day}" if as_of else "no score snapshot",
        table="customer_scores",
        hint="run `rapport score` first",
        key="snapshot_not_on_day" if as_of else "snapshot_none",
        params={"day": as_of},
        hint_key="score_first",
    )


def group_columns(by: str, locale: str) -> list[Column]:
    """The columns of a segment, tier or stage report. At 80 columns the group, its size
    and revenue always show; the average degrees go first (advocacy … relationship index),
    then the revenue share."""
    averages = [
        Column(f"avg_{key}", t(key, locale), numeric=True, text=number, keep=keep)
        for key, keep in zip(SCORE_KEYS, (4, 3, 2, 1, 5), strict=True)
    ]
    return [
        Column("group", t(by, locale), text=lambda v: group_label(by, v, locale)),
        Column("customers", t("customers", locale), numeric=True),
        Column("customer_share", t("customer_share", locale), numeric=True, text=percent),
        Column("revenue", t("revenue", locale), numeric=True),
        Column("revenue_share", t("revenue_share", locale), numeric=True, text=percent, keep=6),
        *averages,
    ]


def _print_groups(by: str, as_of: str | None, fmt: OutputFormat) -> None:
    from rapport.store.scores import require_snapshot

    settings = get_settings()
    locale = settings.locale
    rules = load_rules(settings)
    with store_session() as session:
        day = require_snapshot(session=session, as_of=parse_date(as_of), field="--as-of")
        rows = reports.group_summary(session, by=by, day=day, rules=rules)
    emit(
        rows,
        group_columns(by, locale),
        fmt,
        title=f"{t(by, locale)} — {day}",
        key="groups",
        meta={"as_of": day, "by": by},
        locale=locale,
    )


def segments_command(as_of: AsOfOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """RFM segments of a snapshot: sizes, revenue share, average degrees."""
    _print_groups("rfm_segment", as_of, fmt)


def tiers_command(as_of: AsOfOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Value tiers of a snapshot: sizes, revenue share, average degrees."""
    _print_groups("value_tier", as_of, fmt)


def stages_command(as_of: AsOfOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Lifecycle stages of a snapshot: sizes, revenue share, average degrees."""
    _print_groups("lifecycle_stage", as_of, fmt)


def movements_command(
    by: Annotated[str, typer.Option(help="value_tier, lifecycle_stage or rfm_segment.")] = (
        "value_tier"
    ),
    before: Annotated[str | None, typer.Option("--from", help="Earlier snapshot date.")] = None,
    after: Annotated[str | None, typer.Option("--to", help="Later snapshot date.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Who moved between tiers, stages or segments from one snapshot to another (default:
    the two latest)."""
    from rapport.store.scores import check_snapshot_date, snapshot_dates

    if by not in reports.GROUPINGS:
        raise ValidationFailed(
            "{option} {value!r}",
            field="by",
            hint="use one of: {choices}",
            key="option_value_unknown",
            params={"option": "--by", "value": by, "choices": ", ".join(reports.GROUPINGS)},
        )
    locale = get_settings().locale
    start, end = parse_date(before, "--from"), parse_date(after, "--to")
    with store_session() as session:
        dates = snapshot_dates(session=session)
        # A date without a snapshot would read as every customer moving from (or to) "—".
        if start is not None:
            check_snapshot_date(dates, start, field="--from")
        if end is not None:
            check_snapshot_date(dates, end, field="--to")
        if start is None or end is None:
            if len(dates) < 2:
                raise NotFound(
                    "fewer than two score snapshots",
                    hint="run `rapport score` twice",
                    key="snapshots_fewer_than_two",
                )
            start, end = start or dates[-2], end or dates[-1]
        rows = reports.movements(session, by=by, before=start, after=end)
    columns = [
        Column("from", str(start), text=lambda v: group_label(by, v, locale)),
        Column("to", str(end), text=lambda v: group_label(by, v, locale)),
        Column("customers", t("customers", locale), numeric=True),
    ]
    emit(
        rows,
        columns,
        fmt,
        title=f"{t(by, locale)}: {start} → {end}",
        key="movements",
        meta={"by": by, "from": start, "to": end},
        locale=locale,
    )


# --- rapport diamonds ------------------------------------------------------------------------


def diamonds_command(
    as_of: AsOfOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Customers shown.")] = 20,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The diamond customers (钻石客户) of a snapshot, highest window revenue first, with
    the checks that make them diamond."""
    from rapport.store.scores import require_snapshot

    settings = get_settings()
    locale = settings.locale
    rules = load_rules(settings)
    with store_session() as session:
        day = require_snapshot(session=session, as_of=parse_date(as_of), field="--as-of")
        found = reports.diamonds(session, day=day, rules=rules, locale=locale, limit=limit)
    # At 80 columns: the customer, revenue and reasons always show; the customer number
    # goes first, then the city, the frequency and the relationship index.
    columns = [
        Column("customer_id", t("customer_id", locale), numeric=True, text=_customer_id),
        Column("name", t("name", locale)),
        Column("external_id", t("external_id", locale), keep=1),
        Column("city", t("city", locale), keep=2),
        Column("monetary", t("monetary", locale), numeric=True),
        Column("frequency", t("frequency", locale), numeric=True, keep=3),
        Column("relationship_index", t("relationship_index", locale), numeric=True, keep=4),
        Column(
            "reasons",
            t("reason", locale),
            text=lambda v: "\n".join(v or ()) or "—",
            min_width=20,
        ),
    ]
    total = found.total or 0
    title = t("diamonds_title", locale).format(day=day, total=f"{total:,}", shown=len(found.rows))
    emit(
        found.rows,
        columns,
        fmt,
        title=title,
        key="customers",
        meta={"as_of": day, "diamonds": total},
        locale=locale,
    )
