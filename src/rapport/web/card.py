"""The customer 360 card (``/customers/ID``, :mod:`rapport.web.pages`): everything it shows
of a customer — profile, the four degrees and their history, tier with its reasons, the
predictions, the loyalty panel (:mod:`rapport.web.views.card_loyalty`), tags and notes, the
timeline — and the state of its write forms (:mod:`rapport.web.views.card_writes`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from rapport import customer360
from rapport.access import CustomerScope, Principal, may_write
from rapport.domain import (
    Direction,
    Gender,
    InteractionChannel,
    LifecycleStage,
    TicketKind,
    TicketPriority,
    ValueTier,
)
from rapport.errors import NotFound
from rapport.i18n.enums import timeline_labels
from rapport.masking import mask_customer
from rapport.reports.tiers import next_tier, tier_reasons
from rapport.store import (
    customers,
    interactions,
    notes,
    tickets,
    users,
)
from rapport.web import render
from rapport.web.auth import audit_read
from rapport.web.i18n import Formatter
from rapport.web.views.card_loyalty import LoyaltyForm, loyalty_panel

#: Timeline entries shown on the card.
TIMELINE_ENTRIES = 30
#: Snapshots of the relationship index line.
HISTORY_SNAPSHOTS = 24
#: Notes shown on the card, newest first.
NOTE_ENTRIES = 50
DEGREES = ("satisfaction", "loyalty", "engagement", "advocacy")


def enum_value(enum: type, value: str | None) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def audit_card_read(
    request: Request, user: Principal, scope: CustomerScope, customer_id: int
) -> None:
    """Record that ``user`` read the card of the customer ``customer_id`` (``web.360``),
    unless the card showed it masked."""
    if not scope.masked:
        audit_read(request, user, [customer_id], "web.360")


def shown_row(row: dict[str, Any], masked: bool) -> dict[str, Any]:
    return mask_customer(row) if masked else row


def card_context(
    request: Request,
    session: Any,
    scope: CustomerScope,
    row: dict[str, Any],
    forms: dict[str, CardForm] | None = None,
    *,
    loyalty_form: LoyaltyForm | None = None,
) -> dict[str, Any]:
    """Everything the card shows of the customer ``row`` (in ``scope``), with the state of
    its write forms (fresh ones unless ``forms`` or ``loyalty_form`` say otherwise)."""
    number = row["id"]
    timeline = customer360.customer_timeline(
        session=session, customer_id=number, limit=TIMELINE_ENTRIES, masked=scope.masked
    )
    latest, previous = customer360.latest_scores(session=session, customer_id=number)
    history = customer360.score_history(
        session=session, customer_id=number, limit=HISTORY_SNAPSHOTS
    )
    fmt = render.formatter(request)
    rules = request.app.state.rules
    met, lacking = tier_reasons(latest, rules, fmt.locale) if latest else ([], [])
    return {
        "customer": shown_row(row, scope.masked),
        "masked": scope.masked,
        "owner": owner_name(session, row.get("owner_id")),
        "gender": enum_value(Gender, _value(row.get("gender"))),
        "latest": latest,
        "previous": previous,
        "timeline": timeline_rows(timeline, fmt, scope.masked),
        "prediction": _prediction(latest),
        "radar": json.dumps(_radar(latest, previous, fmt), ensure_ascii=False),
        "trend": json.dumps(_trend(history, fmt), ensure_ascii=False),
        "history": history,
        "tier": enum_value(ValueTier, _value((latest or {}).get("value_tier"))),
        "tier_met": met,
        "tier_next": next_tier(latest) if latest else None,
        "tier_lacking": lacking,
        "stage": enum_value(LifecycleStage, _value((latest or {}).get("lifecycle_stage"))),
        "degrees": DEGREES,
        "loyalty": loyalty_panel(
            session, scope=scope, customer_id=number, rules=rules, fmt=fmt, form=loyalty_form
        ),
        **writes_context(session, scope, row, forms),
    }


def timeline_rows(
    entries: list[dict[str, Any]], fmt: Formatter, masked: bool
) -> list[dict[str, Any]]:
    return [_timeline_entry(e, fmt, masked) for e in entries]


#: The writes of the card: which records each writes (the key of ``access.WRITERS``) and
#: the part of the card it changes.
WRITES = {
    "interaction": ("interactions", "timeline-panel"),
    "ticket": ("tickets", "timeline-panel"),
    "tag": ("customers", "notes-panel"),
    "note": ("customers", "notes-panel"),
}


@dataclass
class CardForm:
    """The state of one write form: the values typed, each field's problem, and whether it
    was just written."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    done: bool = False


def writes_context(
    session: Any, scope: CustomerScope, row: dict[str, Any], forms: dict[str, CardForm] | None
) -> dict[str, Any]:
    user = scope.principal
    shown = shown_row(row, scope.masked)
    written = (
        []
        if scope.masked
        else notes.for_customer(session=session, customer_id=row["id"], limit=NOTE_ENTRIES)
    )
    names = {a: owner_name(session, a) for a in {n["author_id"] for n in written}}
    return {
        "may": {name: may_write(user, records) for name, (records, _) in WRITES.items()},
        "forms": {name: (forms or {}).get(name) or CardForm() for name in WRITES},
        "tags": [t for t in shown.get("tags") or [] if isinstance(t, str)],
        "notes": [
            {"text": n["body"], "at": n["created_at"], "author": names.get(n["author_id"])}
            for n in written
        ],
        "channels": list(InteractionChannel),
        "directions": [Direction.OUTBOUND, Direction.INBOUND, Direction.UNKNOWN],
        "kinds": list(TicketKind),
        "priorities": list(TicketPriority),
        "limits": {
            "subject": interactions.repo.rules["subject"].max_length,
            "ticket_subject": tickets.repo.rules["subject"].max_length,
            "description": DESCRIPTION_LENGTH,
            "tag": customers.MAX_TAG_LENGTH,
            "note": notes.MAX_NOTE_LENGTH,
        },
    }


#: The longest ticket description the form takes (the API's body limit).
DESCRIPTION_LENGTH = 20_000


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def owner_name(session: Any, owner_id: int | None) -> str | None:
    if owner_id is None:
        return None
    try:
        owner = users.get(session=session, id=owner_id)
    except NotFound:
        return None
    return owner.get("display_name") or owner["username"]


def _timeline_entry(entry: dict[str, Any], fmt: Formatter, masked: bool) -> dict[str, Any]:
    hidden = masked and entry["source"] in customer360.FREE_TEXT_SOURCES
    kind, detail = timeline_labels(entry["source"], entry["kind"], entry["detail"], fmt.locale)
    value = entry.get("value")
    if value is None:
        shown = fmt.DASH
    elif entry["source"] == "orders":
        shown = fmt.money(value)
    else:
        shown = fmt.number(value, 0 if float(value).is_integer() else 1)
    return {
        "at": entry["at"],
        "source": entry["source"],
        "kind": kind,
        "detail": fmt.t("card.hidden") if hidden else detail,
        "value": shown,
    }


def _prediction(latest: dict[str, Any] | None) -> dict[str, Any]:
    parts = (latest or {}).get("components") or {}
    prediction = parts.get("prediction") or {}
    churn = parts.get("churn") or {}
    return {
        "clv_low": prediction.get("clv_low"),
        "clv_high": prediction.get("clv_high"),
        "reasons": [
            r for r in churn.get("reasons") or [] if isinstance(r, dict) and r.get("feature")
        ],
        "inputs": {k: parts.get(k) or {} for k in DEGREES},
    }


def _radar(latest: Any, previous: Any, fmt: Formatter) -> dict[str, Any]:
    """The ECharts option of the four-degree radar (the latest snapshot, and the one before
    when there is one)."""
    series = []
    for snap in (latest, previous):
        if snap:
            series.append(
                {
                    "name": fmt.t("card.snapshot_of", date=fmt.date(snap["as_of"])),
                    "value": [_rounded(snap.get(k)) for k in DEGREES],  # null: not measured
                }
            )
    return {
        "animation": False,
        "legend": {"bottom": 0},
        "tooltip": {},
        "radar": {
            "indicator": [{"name": fmt.t(f"degree.{k}"), "max": 100} for k in DEGREES],
            "radius": "65%",
        },
        "series": [{"type": "radar", "data": series}],
    }


def _trend(history: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    """The ECharts option of the relationship index across snapshots."""
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 32},
        "xAxis": {"type": "category", "data": [fmt.date(s["as_of"]) for s in history]},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [
            {
                "type": "line",
                "name": fmt.t("degree.relationship_index"),
                "data": [
                    None
                    if s.get("relationship_index") is None
                    else round(s["relationship_index"], 1)
                    for s in history
                ],
            }
        ],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
