"""``rapport customer REF``: the customer 360 card.

``REF`` is the internal id or the business's own customer number (``external_id``). A
pure integer that is an internal id is that customer; anything else, or an integer no
customer has as id, is looked up as a customer number; ``--external`` looks up only the
customer number (for numbers that look like ids). When an id also is another customer's
number, the card says so.

``--format json`` prints the whole card as one document; ``--format csv`` one row of the
card's plain fields (profile, latest scores and predictions), the same columns for every
customer so that rows of several customers append into one file.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from rapport.cli.common import console, store_engine
from rapport.cli.options import EngineOption
from rapport.cli.output import Column, FormatOption, OutputFormat, plain, render_table, write_csv
from rapport.cli.predictions import reason_text
from rapport.cli.scores import SCORE_KEYS, group_label, local_time, number
from rapport.config import Settings, get_settings, load_rules
from rapport.domain import Gender, LifecycleStage, ValueTier
from rapport.errors import NotFound
from rapport.i18n.enums import label, timeline_labels, value_label
from rapport.i18n.labels import t
from rapport.reports.tiers import components, tier_reasons

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
#: The profile fields of the card (JSON ``customer``), contact data included.
PROFILE_KEYS = (
    "id",
    "external_id",
    "name",
    "gender",
    "birthday",
    "phone",
    "email",
    "wechat_id",
    "country",
    "province",
    "city",
    "district",
    "street",
    "postal_code",
    "source_channel",
    "marketing_consent",
    "marketing_opt_out",
    "created_at",
    "loyalty_joined_at",
    "tags",
    "deleted_at",
)
#: The snapshot fields of the card (JSON ``snapshot``).
SNAPSHOT_KEYS = (
    "as_of",
    *SCORE_KEYS,
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "value_tier",
    "lifecycle_stage",
    "p_alive",
    "expected_purchases_90d",
    "predicted_clv",
    "churn_risk",
)
#: The one CSV row: profile and latest snapshot, flat.
CSV_KEYS = (
    "id",
    "external_id",
    "name",
    "gender",
    "birthday",
    "phone",
    "email",
    "province",
    "city",
    "marketing_consent",
    "marketing_opt_out",
    "as_of",
    *SCORE_KEYS,
    "rfm_segment",
    "value_tier",
    "lifecycle_stage",
    "p_alive",
    "predicted_clv",
    "clv_low",
    "clv_high",
    "churn_risk",
)


def _value(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


# --- which customer -----------------------------------------------------------------------


def resolve(session: Any, ref: str, *, external: bool = False) -> tuple[dict, dict | None]:
    """The customer ``ref`` names (see the module docstring) and, when ``ref`` is an id
    that is also another customer's number, that other customer.

    Raises
    ------
    NotFound
        Naming what was tried: the id and the customer number.
    """
    from rapport.store import customers

    text = ref.strip()
    by_number = customers.repo.find(session=session, key=text, include_deleted=True)
    if not external and text.isascii() and text.isdigit():
        try:
            row = customers.repo.get(session=session, id=int(text), include_deleted=True)
        except NotFound:
            row = None
        if row is not None:
            other = by_number if by_number is not None and by_number["id"] != row["id"] else None
            return row, other
    if by_number is not None:
        return by_number, None
    what = "customer number (external_id)" if external else "id or customer number (external_id)"
    raise NotFound(
        f"no customer with {what} {{ref!r}}",
        table="customers",
        field="external_id" if external else "id",
        value=text,
        hint="`rapport customer --external NUMBER` looks up only the customer number",
        key="customer_not_found_by_number" if external else "customer_not_found",
        params={"ref": text},
        hint_key="customer_not_found.hint",
    )


# --- the card's parts ------------------------------------------------------------------------


def _profile(customer: dict[str, Any], settings: Settings) -> Panel:
    locale = settings.locale
    grid = Table(show_header=False, box=None, pad_edge=False)
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    address = " ".join(
        p for p in (customer.get(k) for k in ("province", "city", "district", "street")) if p
    )
    if customer.get("postal_code"):
        address = f"{address} {customer['postal_code']}".strip()
    tags = customer.get("tags")
    gender = customer.get("gender")
    source = customer.get("source_channel")
    consent = t("consent_yes" if customer.get("marketing_consent") else "consent_no", locale)
    if customer.get("marketing_opt_out"):
        consent = f"{consent}, {t('consent_opted_out', locale)}"
    rows = [
        ("external_id", customer.get("external_id")),
        ("gender", label(Gender(_value(gender)), locale) if gender else None),
        ("birthday", customer.get("birthday")),
        ("phone", customer.get("phone")),
        ("email", customer.get("email")),
        ("wechat_id", customer.get("wechat_id")),
        ("address", address or None),
        ("marketing_consent", consent),
        ("source_channel", value_label("customers", "source_channel", source, locale)),
        ("created_at", local_time(customer.get("created_at"), settings)),
        ("loyalty_joined_at", local_time(customer.get("loyalty_joined_at"), settings)),
        ("tags", ", ".join(tags) if isinstance(tags, list) else tags),
    ]
    if customer.get("deleted_at"):
        rows.append(("deleted", local_time(customer["deleted_at"], settings)))
    for key, value in rows:
        grid.add_row(t(key, locale), "—" if value in (None, "") else str(value))
    title = f"{customer.get('name') or '—'} #{customer['id']}"
    return Panel(grid, title=title, expand=False)


def _degrees(now: dict[str, Any], locale: str) -> Table:
    parts = components(now)
    rows = []
    for key in SCORE_KEYS:
        inputs = parts.get(key) or {}
        text = ", ".join(f"{t(f'input.{k}', locale)} {number(v, 2)}" for k, v in inputs.items())
        rows.append({"figure": t(key, locale), "value": now.get(key), "components": text or "—"})
    columns = [
        Column("figure", t("figure", locale)),
        Column("value", t("value", locale), numeric=True, text=number),
        Column("components", t("components", locale)),
    ]
    return render_table(rows, columns, title=t("four_degrees", locale), locale=locale)


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


def changes(now: dict[str, Any], before: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What differs between the two latest snapshots: ``figure``, ``before``, ``now``."""
    if before is None:
        return []
    out = []
    for key in CHANGE_KEYS:
        old, new = _value(before.get(key)), _value(now.get(key))
        if old != new:
            out.append({"figure": key, "before": old, "now": new})
    return out


def _changes(now: dict[str, Any], before: dict[str, Any] | None, locale: str) -> Table | str:
    if before is None:
        return t("no_previous_snapshot", locale)
    rows = []
    for change in changes(now, before):
        key, old, new = change["figure"], change["before"], change["now"]
        if isinstance(new, str) or isinstance(old, str):
            shown = (group_label(key, old, locale), group_label(key, new, locale), "")
        else:
            digits = 0 if isinstance(new, int) else 1
            delta = "" if old is None or new is None else f"{new - old:+,.{digits}f}"
            shown = (number(old), number(new), delta)
        rows.append(
            {"figure": t(key, locale), "before": shown[0], "now": shown[1], "delta": shown[2]}
        )
    if not rows:
        return t("no_changes", locale)
    columns = [
        Column("figure", t("figure", locale)),
        Column("before", str(before["as_of"]), numeric=True, text=str),
        Column("now", str(now["as_of"]), numeric=True, text=str),
        Column("delta", "Δ", numeric=True, text=str),
    ]
    title = f"{t('changes', locale)}: {before['as_of']} → {now['as_of']}"
    return render_table(rows, columns, title=title, locale=locale)


def timeline_rows(customer_id: int, entries: int, settings: Settings, engine: str | None) -> list:
    """The latest ``entries`` of the customer's timeline (naive UTC ``at``)."""
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.analytics.sources import Sources
    from rapport.analytics.timeline import timeline

    with connect(settings, engine=engine) as eng:
        rows = execute(timeline(Sources(eng), customer_id, limit=entries), eng.con).to_pylist()
    return [{k: r[k] for k in ("at", "source", "kind", "detail", "value")} for r in rows]


def _timeline(rows: list[dict], settings: Settings) -> Table:
    locale = settings.locale
    shown = []
    for r in rows:
        kind, detail = timeline_labels(r["source"], r["kind"], r["detail"], locale)
        shown.append({**r, "kind": kind, "detail": detail})
    columns = [
        Column("at", t("time", locale), text=lambda v: local_time(v, settings)),
        Column("source", t("source", locale), text=lambda v: t(v, locale)),
        Column("kind", t("kind", locale)),
        Column("detail", t("detail", locale), keep=1),
        Column("value", t("value", locale), numeric=True),
    ]
    return render_table(
        shown, columns, title=f"{t('timeline', locale)} ({len(rows)})", locale=locale
    )


def predictions(now: dict[str, Any]) -> dict[str, Any]:
    """The predictive part of a snapshot row: CLV with its 95 % interval, P(alive),
    expected purchases, churn risk with its source and reasons (each with its direction)."""
    parts = components(now)
    prediction = parts.get("prediction") or {}
    churn = parts.get("churn") or {}
    clv = now.get("predicted_clv")
    return {
        "predicted_clv": None if clv is None else float(clv),
        "clv_low": prediction.get("clv_low"),
        "clv_high": prediction.get("clv_high"),
        "p_alive": now.get("p_alive"),
        "expected_purchases_90d": now.get("expected_purchases_90d"),
        "churn_risk": now.get("churn_risk"),
        "churn_source": churn.get("source"),
        "churn_reasons": churn.get("reasons") or [],
    }


def _predictions(pred: dict[str, Any], months: int, locale: str) -> list[str]:
    if pred["predicted_clv"] is None and pred["churn_risk"] is None:
        return [f"[bold]{t('predictions', locale)}[/]: {t('no_predictions', locale)}"]
    lines = [f"[bold]{t('predictions', locale)}[/]"]
    if pred["predicted_clv"] is not None:
        interval = f"{number(pred['clv_low'], 2)} – {number(pred['clv_high'], 2)}"
        lines.append(
            f"  {t('predicted_clv_months', locale).format(months=months)}: "
            f"{number(pred['predicted_clv'], 2)} ({t('clv_interval', locale)} {interval})"
        )
    if pred["p_alive"] is not None:
        lines.append(
            f"  {t('p_alive', locale)}: {number(pred['p_alive'], 2)} · "
            f"{t('expected_purchases_90d', locale)}: {number(pred['expected_purchases_90d'], 2)}"
        )
    if pred["churn_risk"] is not None:
        source = pred["churn_source"]
        by = t(
            "churn_source.classifier" if source == "classifier" else "churn_source.purchase_model",
            locale,
        )
        lines.append(f"  {t('churn_risk', locale)}: {pred['churn_risk'] * 100:.0f}% ({by})")
        for reason in pred["churn_reasons"]:
            lines.append(f"    {reason_text(reason, locale)}")
    return lines


# --- the command -------------------------------------------------------------------------------


def customer_command(
    ref: Annotated[str, typer.Argument(metavar="CUSTOMER", help="Internal id or customer number.")],
    external: Annotated[
        bool,
        typer.Option(
            "--external", help="CUSTOMER is the business's customer number, even if all digits."
        ),
    ] = False,
    entries: Annotated[int, typer.Option(min=1, help="Timeline entries shown.")] = 15,
    engine: EngineOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The customer 360 card: profile, timeline, four degrees with their components, RFM,
    value tier with the reason, lifecycle stage, changes since the previous snapshot.

    CUSTOMER is the internal id or the business's own customer number (external id): a
    number that is an internal id is that customer (unless --external); anything else is
    looked up as a customer number. The card shows contact data, birthday, marketing
    consent and the predictions (CLV with its interval, P(alive), churn risk and the
    direction of each reason).
    """
    from rapport.store import session_scope
    from rapport.store.scores import for_customer

    settings = get_settings()
    locale = settings.locale
    rules = load_rules(settings)
    store = store_engine()
    try:
        with session_scope(store) as session:
            customer, other = resolve(session, ref, external=external)
            snapshots = for_customer(session=session, customer_id=customer["id"], limit=2)
    finally:
        store.dispose()
    timeline = timeline_rows(customer["id"], entries, settings, engine)
    now = snapshots[0] if snapshots else None
    before = snapshots[1] if len(snapshots) > 1 else None
    if fmt != OutputFormat.table:
        _emit_card(customer, now, before, timeline, rules, fmt, locale)
        return
    if other is not None:
        console.print(
            f"[yellow]{t('customer_number_also', locale).format(ref=ref, id=other['id'])}[/]",
            highlight=False,
        )
    console.print(_profile(customer, settings))
    console.print(_timeline(timeline, settings))
    if now is None:
        console.print(f"[yellow]{t('no_snapshot', locale)}[/] — `rapport score`")
        return
    console.print(f"[bold]{t('snapshot', locale)}[/]: {now['as_of']}")
    console.print(_degrees(now, locale))
    console.print(_rfm(now, locale))
    tier = now.get("value_tier")
    tier_text = "—" if tier is None else label(ValueTier(tier), locale)
    met, lacking = tier_reasons(now, rules, locale)
    console.print(f"[bold]{t('value_tier', locale)}[/]: {tier_text}")
    for line in met:
        console.print(f"  ✓ {line}")
    nxt = (components(now).get("value_tier") or {}).get("next")
    if nxt:
        console.print(f"  {t('next_tier', locale)} {label(ValueTier(nxt), locale)}:")
        for line in lacking:
            console.print(f"  ✗ {line}")
    stage = now.get("lifecycle_stage")
    phase = (components(now).get("lifecycle") or {}).get("phase")
    stage_text = "—" if stage is None else label(LifecycleStage(stage), locale)
    phase_label = t(f"phase.{phase}", locale) if phase else stage_text
    phase_text = f" · {t('lifecycle_phase', locale)} {phase_label}" if phase else ""
    console.print(f"[bold]{t('lifecycle_stage', locale)}[/]: {stage_text}{phase_text}")
    months = rules.models.clv_horizon_months
    for line in _predictions(predictions(now), months, locale):
        console.print(line, highlight=False)
    console.print(_changes(now, before, locale))


def _emit_card(
    customer: dict[str, Any],
    now: dict[str, Any] | None,
    before: dict[str, Any] | None,
    timeline: list[dict],
    rules: Any,
    fmt: OutputFormat,
    locale: str,
) -> None:
    profile = {k: plain(_value(customer.get(k))) for k in PROFILE_KEYS}
    snapshot = None
    if now is not None:
        met, lacking = tier_reasons(now, rules, locale)
        snapshot = {k: plain(_value(now.get(k))) for k in SNAPSHOT_KEYS}
        snapshot.update(predictions(now))
        snapshot["components"] = components(now)
        snapshot["tier_reasons"] = {
            "met": met,
            "next": (components(now).get("value_tier") or {}).get("next"),
            "lacking": lacking,
        }
    if fmt == OutputFormat.csv:
        write_csv([{**(snapshot or {}), **profile}], CSV_KEYS)
        return
    doc = {
        "customer": profile,
        "snapshot": snapshot,
        "previous_as_of": None if before is None else plain(before["as_of"]),
        "changes": changes(now, before) if now is not None else [],
        "timeline": [{k: plain(v) for k, v in r.items()} for r in timeline],
    }
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
