"""``rapport score``, ``customer``, ``segments``, ``tiers``, ``stages``, ``diamonds``,
``movements``: the per-customer scores, their snapshots and the customer 360 card."""

from __future__ import annotations

import datetime as dt
import json
import math
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from rapport.analytics.sources import Sources
from rapport.cli.common import console, store_engine
from rapport.config import Rules, Settings, get_settings, load_rules
from rapport.domain import LifecycleStage, ValueTier
from rapport.errors import NotFound, ValidationFailed
from rapport.i18n.enums import label
from rapport.i18n.labels import t

DEGREE_KEYS = ("satisfaction", "loyalty", "engagement", "advocacy")
SCORE_KEYS = (*DEGREE_KEYS, "relationship_index")
#: Fields compared between a customer's two latest snapshots.
CHANGE_KEYS = (
    *SCORE_KEYS,
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "value_tier",
    "lifecycle_stage",
)

EngineOption = Annotated[
    str | None, typer.Option(help="duckdb, postgres, parquet or spark (default: settings).")
]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Snapshot date (local), e.g. 2024-12-31.")
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


# --- formatting --------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: Any, digits: int = 1) -> str:
    """A number for people: a dash for null, thousands separators."""
    if _missing(value):
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):,.{digits}f}"


def group_label(by: str, value: str | None, locale: str) -> str:
    """The zh/en label of a segment, tier or stage id (a dash for none)."""
    if value is None:
        return "—"
    if by == "rfm_segment":
        return t(f"segment.{value}", locale)
    if by == "value_tier":
        return label(ValueTier(value), locale)
    if by == "lifecycle_stage":
        return label(LifecycleStage(value), locale)
    return str(value)


def parse_date(text: str | None, option: str = "--as-of") -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"{option} {text!r}: expected a date like 2024-12-31", field=option.strip("-")
        ) from None


def _local(moment: dt.datetime | None, settings: Settings) -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(settings.tz):%Y-%m-%d %H:%M}"


# --- rapport score -------------------------------------------------------------------------


def score_command(
    as_of: AsOfOption = None,
    engine: EngineOption = None,
) -> None:
    """Compute every customer's scores as of the end of a local day (default: today) and
    store them as that date's snapshot (replacing it; other dates are kept)."""
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.analytics.scores import COVERED
    from rapport.analytics.snapshots import snapshot
    from rapport.scoring import run

    settings = get_settings()
    locale = settings.locale
    day = parse_date(as_of)
    with console.status("scoring …") as status:
        result = run(settings, as_of=day, engine=engine, on_step=lambda s: status.update(f"{s} …"))
    seconds = t("unit.seconds", locale)
    timings = ", ".join(
        f"{t(f'step.{k}', locale)} {v:.1f} {seconds}" for k, v in result.seconds.items()
    )
    console.print(
        f"[green]✓[/] {result.rows:,} {t('customers', locale)} — {result.as_of} "
        f"({_local(result.moment, settings)} {settings.timezone}); {timings}"
    )
    with connect(settings, engine="duckdb" if engine in (None, "duckdb") else engine) as eng:
        snap = snapshot(Sources(eng), result.as_of)
        known = {name: snap[name].count() for name in COVERED}
        cover = execute(snap.aggregate(n=snap.count(), **known), eng.con).to_pylist()[0]
    table = Table(title=t("coverage", locale))
    table.add_column(t("figure", locale))
    table.add_column(t("customers", locale), justify="right")
    table.add_column(t("coverage", locale), justify="right")
    for name in COVERED:
        share = cover[name] * 100 / cover["n"] if cover["n"] else None
        key = "rfm" if name == "r_score" else name
        table.add_row(t(key, locale), f"{cover[name]:,}", "—" if share is None else f"{share:.1f}%")
    console.print(table)


# --- group reports ---------------------------------------------------------------------------


def _snapshot_day(as_of: dt.date | None, option: str = "--as-of") -> dt.date:
    """The snapshot date a command reads (``as_of`` or the latest), checked in the store
    before any analytics runs: no snapshot at all is :class:`NotFound`; none on ``as_of``
    a validation error naming ``option`` and the dates that exist."""
    from rapport.store import session_scope
    from rapport.store.scores import require_snapshot

    store = store_engine()
    try:
        with session_scope(store) as session:
            return require_snapshot(session=session, as_of=as_of, field=option)
    finally:
        store.dispose()


def _groups(by: str, as_of: str | None, engine: str | None) -> tuple[list[dict], Any]:
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.analytics.snapshots import group_summary, snapshot

    settings = get_settings()
    _snapshot_day(parse_date(as_of))
    with connect(settings, engine=engine) as eng:
        src = Sources(eng)
        snap = snapshot(src, parse_date(as_of))
        dates = execute(snap.aggregate(as_of=snap.as_of.max()), eng.con).to_pylist()
        rows = execute(group_summary(snap, by), eng.con).to_pylist()
    day = dates[0]["as_of"] if dates else None
    if day is None:
        raise NotFound(
            "no score snapshot" + (f" dated {as_of}" if as_of else ""),
            table="customer_scores",
            hint="run `rapport score` first",
        )
    return rows, day


def _order(by: str, rules: Rules) -> list[str]:
    if by == "rfm_segment":
        return list(dict.fromkeys(rule.id for rule in rules.scores.rfm.segments))
    if by == "value_tier":
        return [v.value for v in ValueTier]
    return [v.value for v in LifecycleStage]


def _print_groups(
    by: str, title_key: str, as_of: str | None, engine: str | None, fmt: OutputFormat
) -> None:
    settings = get_settings()
    locale = settings.locale
    rows, day = _groups(by, as_of, engine)
    order = _order(by, load_rules(settings))
    rank = {value: i for i, value in enumerate(order)}
    rows.sort(key=lambda r: rank.get(r["group"], len(order)))
    if fmt == OutputFormat.json:
        payload = {"as_of": day.isoformat(), "by": by, "groups": rows}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{t(title_key, locale)} — {day}")
    table.add_column(t(title_key, locale))
    for key in ("customers", "customer_share", "revenue", "revenue_share"):
        table.add_column(t(key, locale), justify="right")
    for key in SCORE_KEYS:
        table.add_column(t(key, locale), justify="right")
    for row in rows:
        table.add_row(
            group_label(by, row["group"], locale),
            f"{row['customers']:,}",
            f"{number(row['customer_share'])}%",
            number(row["revenue"], 2),
            "—" if _missing(row["revenue_share"]) else f"{number(row['revenue_share'])}%",
            *(number(row[f"avg_{key}"]) for key in SCORE_KEYS),
        )
    console.print(table)


FormatOption = Annotated[OutputFormat, typer.Option("--format")]


def segments_command(
    as_of: AsOfOption = None, engine: EngineOption = None, fmt: FormatOption = OutputFormat.table
) -> None:
    """RFM segments of a snapshot: sizes, revenue share, average degrees."""
    _print_groups("rfm_segment", "rfm_segment", as_of, engine, fmt)


def tiers_command(
    as_of: AsOfOption = None, engine: EngineOption = None, fmt: FormatOption = OutputFormat.table
) -> None:
    """Value tiers of a snapshot: sizes, revenue share, average degrees."""
    _print_groups("value_tier", "value_tier", as_of, engine, fmt)


def stages_command(
    as_of: AsOfOption = None, engine: EngineOption = None, fmt: FormatOption = OutputFormat.table
) -> None:
    """Lifecycle stages of a snapshot: sizes, revenue share, average degrees."""
    _print_groups("lifecycle_stage", "lifecycle_stage", as_of, engine, fmt)


def movements_command(
    by: Annotated[str, typer.Option(help="value_tier, lifecycle_stage or rfm_segment.")] = (
        "value_tier"
    ),
    before: Annotated[str | None, typer.Option("--from", help="Earlier snapshot date.")] = None,
    after: Annotated[str | None, typer.Option("--to", help="Later snapshot date.")] = None,
    engine: EngineOption = None,
) -> None:
    """Who moved between tiers, stages or segments from one snapshot to another (default:
    the two latest)."""
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.analytics.snapshots import GROUPINGS, movements
    from rapport.store import session_scope
    from rapport.store.scores import check_snapshot_date, snapshot_dates

    if by not in GROUPINGS:
        raise ValidationFailed(
            f"--by {by!r}", field="by", hint=f"use one of: {', '.join(GROUPINGS)}"
        )
    settings = get_settings()
    locale = settings.locale
    store = store_engine()
    try:
        with session_scope(store) as session:
            dates = snapshot_dates(session=session)
    finally:
        store.dispose()
    start, end = parse_date(before, "--from"), parse_date(after, "--to")
    # A date without a snapshot would read as every customer moving from (or to) "—".
    if start is not None:
        check_snapshot_date(dates, start, field="--from")
    if end is not None:
        check_snapshot_date(dates, end, field="--to")
    if start is None or end is None:
        if len(dates) < 2:
            raise NotFound("fewer than two score snapshots", hint="run `rapport score` twice")
        start, end = start or dates[-2], end or dates[-1]
    with connect(settings, engine=engine) as eng:
        rows = execute(movements(Sources(eng), by, before=start, after=end), eng.con).to_pylist()
    rows = [r for r in rows if r["from"] != r["to"]]
    rows.sort(key=lambda r: -r["customers"])
    table = Table(title=f"{t(by, locale)}: {start} → {end}")
    table.add_column(str(start))
    table.add_column(str(end))
    table.add_column(t("customers", locale), justify="right")
    for row in rows:
        table.add_row(
            group_label(by, row["from"], locale),
            group_label(by, row["to"], locale),
            f"{row['customers']:,}",
        )
    console.print(table)


# --- rapport diamonds ------------------------------------------------------------------------


def tier_reasons(row: dict[str, Any], rules: Rules, locale: str) -> tuple[list[str], list[str]]:
    """Why a snapshot row is in its tier: the checks of its tier that hold (with values) and
    what it lacks for the next tier up (value versus threshold)."""
    from rapport.analytics.tiers import CHECKS

    parts = _components(row)
    rank = (parts.get("rfm") or {}).get("revenue_rank")
    values = {
        "revenue": rank,
        "loyalty": row.get("loyalty"),
        "satisfaction": row.get("satisfaction"),
        "engagement": row.get("engagement"),
        "churn_risk": row.get("churn_risk"),
        "stage": row.get("lifecycle_stage"),
    }
    rules_by_tier = {rule.tier.value: rule for rule in rules.scores.tiers.rules}

    def describe(check: str, rule: Any) -> str:
        name = t(f"check.{check}", locale)
        value = values[check]
        if check == "revenue":  # as a percentile: 100 = the highest revenue of the window
            need = 100 * (1 - rule.revenue_top_share)
            shown = "—" if value is None else f"P{100 * value:.1f}"
            return f"{name}: {shown} (≥ P{need:g})"
        if check == "stage":
            excluded = ", ".join(label(s, locale) for s in rule.excluded_stages) or "—"
            shown = "—" if value is None else label(LifecycleStage(value), locale)
            return f"{name}: {shown} (∉ {excluded})"
        if check == "churn_risk":
            shown = "—" if value is None else f"{100 * value:.0f}%"
            return f"{name}: {shown} (≤ {100 * rule.max_churn_risk:g}%)"
        need = getattr(rule, f"min_{check}")
        return f"{name}: {number(value)} (≥ {need:g})"

    tier = row.get("value_tier")
    tier = tier.value if isinstance(tier, StrEnum) else tier
    met = []
    if tier in rules_by_tier:
        rule = rules_by_tier[tier]
        met = [describe(check, rule) for check in CHECKS if _relevant(check, rule)]
    lacking = []
    tier_parts = parts.get("value_tier") or {}
    nxt = tier_parts.get("next")
    if nxt in rules_by_tier:
        for check in tier_parts.get("missing") or []:
            lacking.append(describe(check, rules_by_tier[nxt]))
    return met, lacking


def _relevant(check: str, rule: Any) -> bool:
    if check == "revenue":
        return rule.revenue_top_share < 1
    if check == "stage":
        return bool(rule.excluded_stages)
    if check == "churn_risk":
        return rule.max_churn_risk < 1
    return getattr(rule, f"min_{check}") > 0


def _components(row: dict[str, Any]) -> dict[str, Any]:
    parts = row.get("components")
    if isinstance(parts, str):
        return json.loads(parts)
    return parts or {}


def diamonds_command(
    as_of: AsOfOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Customers shown.")] = 20,
    engine: EngineOption = None,
) -> None:
    """The diamond customers (钻石客户) of a snapshot, highest window revenue first, with
    the checks that make them diamond."""
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.analytics.snapshots import diamonds, snapshot

    settings = get_settings()
    locale = settings.locale
    rules = load_rules(settings)
    store_engine().dispose()
    with connect(settings, engine=engine) as eng:
        src = Sources(eng, rules=rules)
        snap = snapshot(src, parse_date(as_of))
        rows = execute(diamonds(src, snap, limit=limit), eng.con).to_pylist()
    title = label(ValueTier.DIAMOND, locale)
    table = Table(title=f"{title} ({len(rows)})")
    for key in ("customers", "monetary", "frequency", "relationship_index", "reason"):
        table.add_column(
            t(key, locale), justify="left" if key in ("customers", "reason") else "right"
        )
    for row in rows:
        met, _ = tier_reasons({**row, "value_tier": ValueTier.DIAMOND.value}, rules, locale)
        who = f"{row['name'] or '—'} #{row['customer_id']}" + (
            f" · {row['city']}" if row["city"] else ""
        )
        table.add_row(
            who,
            number(row["monetary"], 2),
            number(row["frequency"]),
            number(row["relationship_index"]),
            "\n".join(met),
        )
    console.print(table)


# --- rapport customer: the 360 card ------------------------------------------------------------


def _profile(customer: dict[str, Any], settings: Settings) -> Panel:
    locale = settings.locale
    grid = Table(show_header=False, box=None, pad_edge=False)
    grid.add_column(style="bold")
    grid.add_column()
    place = " ".join(p for p in (customer.get("province"), customer.get("city")) if p)
    tags = customer.get("tags")
    rows = [
        ("external_id", customer.get("external_id")),
        ("city", place or None),
        ("source_channel", customer.get("source_channel")),
        ("created_at", _local(customer.get("created_at"), settings)),
        ("loyalty_joined_at", _local(customer.get("loyalty_joined_at"), settings)),
        ("tags", ", ".join(tags) if isinstance(tags, list) else tags),
    ]
    for key, value in rows:
        grid.add_row(t(key, locale), "—" if value in (None, "") else str(value))
    title = f"{customer.get('name') or '—'} #{customer['id']}"
    return Panel(grid, title=title, expand=False)


def _degrees(now: dict[str, Any], locale: str) -> Table:
    parts = _components(now)
    table = Table(title=t("four_degrees", locale))
    table.add_column(t("figure", locale))
    table.add_column(t("value", locale), justify="right")
    table.add_column(t("components", locale))
    for key in SCORE_KEYS:
        inputs = parts.get(key) or {}
        text = ", ".join(f"{t(f'input.{k}', locale)} {number(v, 2)}" for k, v in inputs.items())
        table.add_row(t(key, locale), number(now.get(key)), text or "—")
    return table


def _rfm(now: dict[str, Any], locale: str) -> str:
    segment = now.get("rfm_segment")
    r, f, m = (now.get(k) for k in ("r_score", "f_score", "m_score"))
    scores = f"R{r} F{f} M{m}" if r is not None else "—"
    recency = number(now.get("recency_days"))
    return (
        f"[bold]{t('rfm', locale)}[/]: {t('recency_days', locale)} {recency}, "
        f"{t('frequency', locale)} {number(now.get('frequency'))}, "
        f"{t('monetary', locale)} {number(now.get('monetary'), 2)} → {scores} · "
        f"{group_label('rfm_segment', segment, locale)}"
    )


def _changes(now: dict[str, Any], before: dict[str, Any] | None, locale: str) -> Table | str:
    if before is None:
        return t("no_previous_snapshot", locale)
    table = Table(title=f"{t('changes', locale)}: {before['as_of']} → {now['as_of']}")
    table.add_column(t("figure", locale))
    table.add_column(str(before["as_of"]), justify="right")
    table.add_column(str(now["as_of"]), justify="right")
    table.add_column("Δ", justify="right")
    for key in CHANGE_KEYS:
        old, new = before.get(key), now.get(key)
        old = old.value if isinstance(old, StrEnum) else old
        new = new.value if isinstance(new, StrEnum) else new
        if old == new:
            continue
        if isinstance(new, str) or isinstance(old, str):
            table.add_row(
                t(key, locale), group_label(key, old, locale), group_label(key, new, locale), ""
            )
        else:
            delta = "" if _missing(old) or _missing(new) else f"{new - old:+,.{_digits(new)}f}"
            table.add_row(t(key, locale), number(old), number(new), delta)
    return table if table.row_count else t("no_changes", locale)


def _digits(value: Any) -> int:
    return 0 if isinstance(value, int) else 1


def _timeline(customer_id: int, entries: int, settings: Settings, engine: str | None) -> Table:
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.analytics.timeline import timeline

    locale = settings.locale
    with connect(settings, engine=engine) as eng:
        rows = execute(timeline(Sources(eng), customer_id, limit=entries), eng.con).to_pylist()
    table = Table(title=f"{t('timeline', locale)} ({len(rows)})")
    for key in ("time", "source", "kind", "detail", "value"):
        table.add_column(t(key, locale), justify="right" if key == "value" else "left")
    for row in rows:
        table.add_row(
            _local(row["at"], settings),
            t(row["source"], locale),
            row["kind"] or "—",
            row["detail"] or "—",
            number(row["value"], 2),
        )
    return table


def customer_command(
    customer_id: Annotated[int, typer.Argument(help="The customer's id.")],
    entries: Annotated[int, typer.Option(min=1, help="Timeline entries shown.")] = 15,
    engine: EngineOption = None,
) -> None:
    """The customer 360 card: profile, timeline, four degrees with their components, RFM,
    value tier with the reason, lifecycle stage, changes since the previous snapshot."""
    from rapport.store import customers, session_scope
    from rapport.store.scores import for_customer

    settings = get_settings()
    locale = settings.locale
    rules = load_rules(settings)
    store = store_engine()
    with session_scope(store) as session:
        customer = customers.repo.get(session=session, id=customer_id, include_deleted=True)
        snapshots = for_customer(session=session, customer_id=customer_id, limit=2)
    store.dispose()
    console.print(_profile(customer, settings))
    console.print(_timeline(customer_id, entries, settings, engine))
    if not snapshots:
        console.print(f"[yellow]{t('no_snapshot', locale)}[/] — `rapport score`")
        return
    now = snapshots[0]
    before = snapshots[1] if len(snapshots) > 1 else None
    console.print(f"[bold]{t('snapshot', locale)}[/]: {now['as_of']}")
    console.print(_degrees(now, locale))
    console.print(_rfm(now, locale))
    tier = now.get("value_tier")
    tier_text = "—" if tier is None else label(ValueTier(tier), locale)
    met, lacking = tier_reasons(now, rules, locale)
    console.print(f"[bold]{t('value_tier', locale)}[/]: {tier_text}")
    for line in met:
        console.print(f"  ✓ {line}")
    nxt = (_components(now).get("value_tier") or {}).get("next")
    if nxt:
        console.print(f"  {t('next_tier', locale)} {label(ValueTier(nxt), locale)}:")
        for line in lacking:
            console.print(f"  ✗ {line}")
    stage = now.get("lifecycle_stage")
    phase = (_components(now).get("lifecycle") or {}).get("phase")
    stage_text = "—" if stage is None else label(LifecycleStage(stage), locale)
    phase_label = t(f"phase.{phase}", locale) if phase else stage_text
    phase_text = f" · {t('lifecycle_phase', locale)} {phase_label}" if phase else ""
    console.print(f"[bold]{t('lifecycle_stage', locale)}[/]: {stage_text}{phase_text}")
    console.print(_changes(now, before, locale))


# --- rapport clusters, rapport relations ---------------------------------------------------------


def _zh_en(zh: str, en: str, locale: str) -> str:
    return zh if locale.startswith("zh") else en


def _no_snapshot(as_of: str | None) -> NotFound:
    return NotFound(
        "no score snapshot" + (f" dated {as_of}" if as_of else ""),
        table="customer_scores",
        hint="run `rapport score` first",
    )


def clusters_command(as_of: AsOfOption = None, engine: EngineOption = None) -> None:
    """Behavioural clusters of a snapshot (k-means on standardized behaviour, k by the best
    silhouette over 2..8): size, share and distinguishing features of each cluster, and
    its customers by age band, gender, city and income band."""
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.models.clusters import FEATURE_LABELS, FEATURES, cluster_customers, features_expr

    settings = get_settings()
    locale = settings.locale
    _snapshot_day(parse_date(as_of))
    with connect(settings, engine=engine) as eng:
        table = execute(features_expr(Sources(eng), parse_date(as_of)), eng.con)
    if table.num_rows == 0:
        raise _no_snapshot(as_of)
    day = table.column("as_of")[0].as_py()
    result = cluster_customers(table)
    sil = result.silhouettes[result.k]
    out = Table(
        title=f"{_zh_en('行为聚类', 'Behavioural clusters', locale)} — {day} "
        f"(k = {result.k}, {_zh_en('轮廓系数', 'silhouette', locale)} {sil:.3f})"
    )
    out.add_column(_zh_en("聚类", "Cluster", locale), justify="right")
    out.add_column(t("customers", locale), justify="right")
    out.add_column(t("customer_share", locale), justify="right")
    zh = locale.startswith("zh")
    for name in FEATURES:
        out.add_column(f"z {FEATURE_LABELS[name][0 if zh else 1]}", justify="right")
    out.add_column(_zh_en("特征", "Distinguishing features", locale))
    for c in result.clusters:
        out.add_row(
            str(c.id + 1),
            f"{c.size:,}",
            f"{c.share * 100:.1f}%",
            *(f"{c.z[name]:+.2f}" for name in FEATURES),
            c.description["zh_CN" if zh else "en"],
        )
    console.print(out)
    titles = {
        "age_band": ("年龄段", "Age band"),
        "gender": ("性别", "Gender"),
        "city": ("城市", "City"),
        "income_band": ("收入段", "Income band"),
    }
    for name, demo in result.demographics.items():
        rows = demo.to_pylist()
        values = list(dict.fromkeys(r["value"] for r in rows))
        if name == "city" and len(values) > 8:  # the largest cities; the rest together
            totals: dict[Any, int] = {}
            for r in rows:
                totals[r["value"]] = totals.get(r["value"], 0) + r["customers"]
            values = sorted(totals, key=lambda v: -totals[v])[:8]
        elif name == "age_band":
            values.sort(key=lambda v: (v is None, v or ""))
        share = {(r["cluster"], r["value"]): r["share"] for r in rows}
        table_d = Table(title=_zh_en(*titles[name], locale))
        table_d.add_column(_zh_en("聚类", "Cluster", locale), justify="right")
        for value in values:
            table_d.add_column("—" if value is None else str(value), justify="right")
        for c in result.clusters:
            table_d.add_row(
                str(c.id + 1), *(f"{share.get((c.id, v), 0.0) * 100:.1f}%" for v in values)
            )
        console.print(table_d)


def relations_command(
    as_of: AsOfOption = None,
    high: Annotated[
        float | None,
        typer.Option(min=0, max=100, help="High scorer from this score (default: top quartile)."),
    ] = None,
    engine: EngineOption = None,
) -> None:
    """How the four degrees relate in a snapshot: their correlation matrix and, along
    satisfaction → loyalty → engagement → advocacy, the share of each degree's high scorers
    that are high on the next, beside the base rate."""
    from rapport.analytics.connect import connect
    from rapport.analytics.relations import snapshot_relations

    settings = get_settings()
    locale = settings.locale
    _snapshot_day(parse_date(as_of))
    with connect(settings, engine=engine) as eng:
        rel = snapshot_relations(Sources(eng), parse_date(as_of), high=high, con=eng.con)
    if rel is None:
        raise _no_snapshot(as_of)
    corr = Table(
        title=_zh_en("四度相关系数（皮尔逊）", "Correlation of the four degrees (Pearson)", locale)
    )
    corr.add_column("")
    for name in rel.degrees:
        corr.add_column(t(name, locale), justify="right")
    for i, name in enumerate(rel.degrees):
        corr.add_row(
            t(name, locale),
            *(
                "—" if math.isnan(v) else f"{v:.2f} (n={rel.pairs[i, j]:,})"
                for j, v in enumerate(rel.correlation[i])
            ),
        )
    console.print(corr)
    how = (
        _zh_en(f"≥ {high:g} 分", f"≥ {high:g}", locale)
        if high is not None
        else _zh_en("前 25%", "top quartile", locale)
    )
    chain = Table(
        title=_zh_en(f"高分链（高分 = {how}）", f"High-scorer chain (high = {how})", locale)
    )
    for zh, en in (
        ("从", "From"),
        ("到", "To"),
        ("高分客户", "High on from"),
        ("其中下一度也高", "Also high on next"),
        ("基准比例", "Base rate"),
        ("提升", "Lift"),
    ):
        chain.add_column(
            _zh_en(zh, en, locale), justify="left" if en in ("From", "To") else "right"
        )
    for link in rel.links:
        chain.add_row(
            t(link.source, locale),
            t(link.target, locale),
            f"{link.high_source:,}",
            "—" if link.share is None else f"{link.share * 100:.1f}%",
            "—" if link.base_rate is None else f"{link.base_rate * 100:.1f}%",
            "—" if link.lift is None else f"{link.lift:.2f}×",
        )
    console.print(chain)
