"""The vocabulary of a playbook's definition and its checks: the triggers, filter fields
and operators, eligibility rules, actions and outcomes :mod:`rapport.actions.playbooks`
accepts, and the functions that check each part, raising
:class:`~rapport.errors.ValidationFailed` with the playbook's code, the field (e.g.
``audience.all[0].op``) and what to write instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.domain import (
    AlertKind,
    AlertSeverity,
    LifecycleStage,
    MessageChannel,
    TicketKind,
    TicketPriority,
    ValueTier,
)
from rapport.errors import ValidationFailed

#: The most days a definition may name (a window, a cooldown, a relative date): 100 years.
MAX_DAYS = 36_500
#: The most of anything else a definition counts (points, hours, a cap, a priority).
MAX_COUNT = 1_000_000
#: Snapshot fields a tier/stage/segment trigger may watch.
STATE_FIELDS = ("value_tier", "lifecycle_stage", "rfm_segment")
#: Scores a threshold trigger may watch.
SCORE_FIELDS = (
    "churn_risk",
    "relationship_index",
    "satisfaction",
    "loyalty",
    "engagement",
    "advocacy",
    "p_alive",
    "predicted_clv",
    "monetary",
    "recency_days",
    "frequency",
)
#: Fields an audience filter may name: the customer's attributes and latest scores.
FIELDS = (
    *STATE_FIELDS,
    *SCORE_FIELDS,
    "city",
    "province",
    "country",
    "gender",
    "source_channel",
    "occupation",
    "income_band",
    "owner_id",
    "tags",
    "birthday",
    "created_at",
    "loyalty_joined_at",
    "marketable",
)
DATE_FIELDS = ("birthday", "created_at", "loyalty_joined_at")
#: Operators of a filter leaf.
OPS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "ge",
    "lt",
    "le",
    "is_null",
    "not_null",
    "contains",
    "within_days",
    "older_than_days",
)
TRIGGERS = (
    "enter",
    "leave",
    "upgrade",
    "downgrade",
    "score_crosses",
    "score_drop",
    "event",
    "date",
    "schedule",
    "points_expiring",
)
EVENTS = ("first_purchase", "complaint_opened", "nps_detractor", "nps_promoter", "ticket_closed")
DATES = ("birthday", "purchase_anniversary", "no_contact", "no_purchase")
PERIODS = ("month", "quarter", "year")
ACTIONS = ("task", "message", "reward", "alert", "tag")
OUTCOMES = ("purchase", "revenue", "retention", "survey_answered", "ticket_closed", "referral")
REENROL = ("always", "after_cooldown", "never")
#: Channels a message action may use, and the customer field holding the recipient (an app
#: push goes to the app user, the customer's external id).
RECIPIENTS = {"email": "email", "sms": "phone", "wechat": "wechat_id", "app_push": "external_id"}
MESSAGE_CHANNELS = tuple(RECIPIENTS)
#: The value tiers from lowest to highest (upgrade/downgrade triggers).
TIER_ORDER = (ValueTier.BRONZE, ValueTier.SILVER, ValueTier.GOLD, ValueTier.DIAMOND)


def fail(code: str, where: str, problem: str, hint: str, value: Any = None) -> ValidationFailed:
    return ValidationFailed(
        "playbook {code}: {where}: {problem}",
        field=where,
        value=value,
        hint="{advice}",
        key="playbook_invalid",
        params={"code": code, "where": where, "problem": problem, "advice": hint},
    )


def choice(code: str, where: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise fail(
            code,
            where,
            f"{value!r} is not one of {', '.join(choices)}",
            f"write one of {', '.join(choices)}",
            value,
        )
    return value


def number(
    code: str,
    where: str,
    value: Any,
    *,
    low: float = 0,
    high: float = MAX_DAYS,
    integer: bool = False,
) -> Any:
    """``value`` checked as a number from ``low`` to ``high`` (a whole one with
    ``integer``); days are at most :data:`MAX_DAYS` unless ``high`` says otherwise."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or not low <= value <= high:
        kind = "a whole number" if integer else "a number"
        raise fail(
            code,
            where,
            f"{value!r} is not {kind} from {low:g} to {high:g}",
            f"write {kind} from {low:g} to {high:g}",
            value,
        )
    return int(value) if integer else float(value)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def text(code: str, where: str, value: Any, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise fail(code, where, f"{value!r} is not a text", "write a non-empty text", value)
    try:
        value.format_map(_Blank())
    except (ValueError, IndexError, KeyError, AttributeError, TypeError) as exc:
        raise fail(
            code,
            where,
            f"{value!r} is not a text template ({exc})",
            "name fields as {name}; write {{ and }} for braces",
            value,
        ) from exc
    return value


def keys(code: str, where: str, data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise fail(code, where, f"{data!r} is not a table", "write a table of fields", data)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise fail(
            code,
            f"{where}.{unknown[0]}",
            "unknown field",
            f"use only {', '.join(sorted(allowed))}",
            unknown[0],
        )
    return dict(data)


def trigger(code: str, data: Any) -> dict[str, Any]:
    allowed = {
        "kind",
        "field",
        "values",
        "score",
        "above",
        "below",
        "by",
        "event",
        "ticket_kinds",
        "date",
        "days",
        "max_days",
        "every",
        "within_days",
    }
    t = keys(code, "trigger", data, allowed)
    kind = choice(code, "trigger.kind", t.get("kind"), TRIGGERS)
    if kind in ("enter", "leave"):
        fld = choice(code, "trigger.field", t.get("field"), STATE_FIELDS)
        values = t.get("values")
        if isinstance(values, str):
            values = [values]
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) for v in values)
        ):
            raise fail(
                code,
                "trigger.values",
                f"{values!r} is not a list of values",
                'write e.g. values = ["diamond"]',
                values,
            )
        allowed_values = {"value_tier": tuple(ValueTier), "lifecycle_stage": tuple(LifecycleStage)}
        if fld in allowed_values:
            for v in values:
                choice(code, "trigger.values", v, tuple(str(x) for x in allowed_values[fld]))
        t["values"] = values
    elif kind in ("upgrade", "downgrade"):
        t["field"] = choice(code, "trigger.field", t.get("field", "value_tier"), ("value_tier",))
    elif kind == "score_crosses":
        choice(code, "trigger.score", t.get("score"), SCORE_FIELDS)
        if ("above" in t) == ("below" in t):
            raise fail(
                code,
                "trigger.above",
                "give either above or below",
                "write above = 0.7 (rising past it) or below = 40 (falling under it)",
            )
        side = "above" if "above" in t else "below"
        t[side] = number(code, f"trigger.{side}", t[side], low=-1e12, high=1e12)
    elif kind == "score_drop":
        choice(code, "trigger.score", t.get("score"), SCORE_FIELDS)
        t["by"] = number(code, "trigger.by", t.get("by"), high=1e12)
    elif kind == "event":
        choice(code, "trigger.event", t.get("event"), EVENTS)
        kinds = t.get("ticket_kinds")
        if isinstance(kinds, list):
            for kind_ in kinds:
                choice(code, "trigger.ticket_kinds", kind_, tuple(str(k) for k in TicketKind))
        if kinds is not None and (not isinstance(kinds, list) or not kinds):
            raise fail(
                code,
                "trigger.ticket_kinds",
                f"{kinds!r} is not a list",
                'write e.g. ticket_kinds = ["complaint"]',
                kinds,
            )
    elif kind == "date":
        date = choice(code, "trigger.date", t.get("date"), DATES)
        if date in ("no_contact", "no_purchase"):
            t["days"] = number(code, "trigger.days", t.get("days"), low=1, integer=True)
            if t.get("max_days") is not None:
                t["max_days"] = number(
                    code, "trigger.max_days", t["max_days"], low=t["days"], integer=True
                )
    elif kind == "schedule":
        choice(code, "trigger.every", t.get("every"), PERIODS)
    elif kind == "points_expiring":
        t["within_days"] = number(
            code, "trigger.within_days", t.get("within_days", 30), low=1, integer=True
        )
    return t


def check_filter(code: str, node: Any, where: str = "audience") -> dict[str, Any]:
    """Check one node of an audience filter (recursively); returns it normalized."""
    if not isinstance(node, Mapping):
        raise fail(
            code,
            where,
            f"{node!r} is not a table",
            "write {all = [...]}, {any = [...]}, {not = {...}} or {field, op, value}",
            node,
        )
    groups = [k for k in ("all", "any") if k in node]
    if groups:
        key = groups[0]
        keys(code, where, node, {key})
        items = node[key]
        if not isinstance(items, list) or not items:
            raise fail(
                code,
                f"{where}.{key}",
                "an empty or non-list group",
                "list at least one condition",
                items,
            )
        return {key: [check_filter(code, n, f"{where}.{key}[{i}]") for i, n in enumerate(items)]}
    if "not" in node:
        keys(code, where, node, {"not"})
        return {"not": check_filter(code, node["not"], f"{where}.not")}
    leaf = keys(code, where, node, {"field", "op", "value"})
    fld = choice(code, f"{where}.field", leaf.get("field"), FIELDS)
    op = choice(code, f"{where}.op", leaf.get("op", "eq"), OPS)
    value = leaf.get("value")
    if op in ("is_null", "not_null"):
        return {"field": fld, "op": op}
    if op in ("in", "not_in") and not isinstance(value, list):
        raise fail(
            code,
            f"{where}.value",
            f"{op} needs a list, not {value!r}",
            'write e.g. value = ["gold", "diamond"]',
            value,
        )
    if op in ("within_days", "older_than_days"):
        if fld not in DATE_FIELDS:
            raise fail(
                code,
                f"{where}.op",
                f"{op} compares a date, and {fld} is not one",
                f"use it with {', '.join(DATE_FIELDS)}",
                op,
            )
        value = number(code, f"{where}.value", value, integer=True)
    if op in ("gt", "ge", "lt", "le") and fld not in SCORE_FIELDS and fld != "owner_id":
        raise fail(
            code,
            f"{where}.op",
            f"{op} compares numbers, and {fld} is not one",
            f"use eq, in, … with {fld}",
            op,
        )
    if op == "contains" and fld != "tags":
        raise fail(code, f"{where}.op", "contains looks in tags", 'use field = "tags"', op)
    if value is None:
        raise fail(code, f"{where}.value", "missing", "give the value to compare with")
    _check_value_type(code, where, fld, op, value)
    return {"field": fld, "op": op, "value": value}


def _kind_of(fld: str) -> str:
    if fld in SCORE_FIELDS or fld == "owner_id":
        return "number"
    if fld in DATE_FIELDS:
        return "date"
    if fld == "marketable":
        return "bool"
    if fld == "tags":
        return "tags"
    return "text"


def _check_value_type(code: str, where: str, fld: str, op: str, value: Any) -> None:
    """Refuse a value the field cannot be compared with (a text against a score …)."""
    kind = _kind_of(fld)
    if op in ("within_days", "older_than_days"):
        return
    allowed = {
        "number": ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le"),
        "text": ("eq", "ne", "in", "not_in"),
        "bool": ("eq", "ne"),
        "tags": ("contains",),
        "date": (),
    }[kind]
    if op not in allowed:
        advice = f"use {', '.join(allowed)}" if allowed else "use within_days or older_than_days"
        raise fail(code, f"{where}.op", f"{op} does not apply to {fld}", advice, op)
    values = value if op in ("in", "not_in") else [value]

    def fits(v: Any) -> bool:
        if kind == "number":
            return isinstance(v, int | float) and not isinstance(v, bool)
        if kind == "bool":
            return isinstance(v, bool)
        return isinstance(v, str)

    if not values or not all(fits(v) for v in values):
        wanted = {"number": "a number", "bool": "true or false"}.get(kind, "a text")
        raise fail(
            code,
            f"{where}.value",
            f"{value!r} is not {wanted}",
            f"compare {fld} with {wanted}",
            value,
        )


def eligibility(code: str, data: Any) -> dict[str, Any]:
    e = keys(code, "eligibility", data or {}, {"cooldown_days", "reenrol", "marketing", "caps"})
    e["cooldown_days"] = number(
        code, "eligibility.cooldown_days", e.get("cooldown_days", 0), integer=True
    )
    e["reenrol"] = choice(code, "eligibility.reenrol", e.get("reenrol", "after_cooldown"), REENROL)
    if "marketing" in e and not isinstance(e["marketing"], bool):
        raise fail(code, "eligibility.marketing", "not true or false", "write true or false")
    caps = []
    if not isinstance(e.get("caps", []), list):
        raise fail(code, "eligibility.caps", "not a list", "write caps = [{channel, max, days}]")
    for i, cap in enumerate(e.get("caps", [])):
        c = keys(code, f"eligibility.caps[{i}]", cap, {"channel", "max", "days"})
        caps.append(
            {
                "channel": choice(
                    code, f"eligibility.caps[{i}].channel", c.get("channel"), tuple(MessageChannel)
                ),
                "max": number(
                    code, f"eligibility.caps[{i}].max", c.get("max"), high=MAX_COUNT, integer=True
                ),
                "days": number(
                    code, f"eligibility.caps[{i}].days", c.get("days"), low=1, integer=True
                ),
            }
        )
    e["caps"] = caps
    return e


_ACTION_KEYS = {
    "task": {
        "kind",
        "title_zh",
        "title_en",
        "script_zh",
        "script_en",
        "due_hours",
        "due_days",
        "priority",
        "assignee",
        "team",
        "channel",
    },
    "message": {"kind", "channel", "template", "subject_zh", "subject_en", "body_zh", "body_en"},
    "reward": {"kind", "points", "reason"},
    "alert": {"kind", "alert_kind", "severity"},
    "tag": {"kind", "tag"},
}


def action(code: str, i: int, data: Any) -> dict[str, Any]:
    where = f"actions[{i}]"
    if not isinstance(data, Mapping):
        raise fail(code, where, f"{data!r} is not a table", 'write {kind = "task", …}', data)
    kind = choice(code, f"{where}.kind", data.get("kind"), ACTIONS)
    a = keys(code, where, data, _ACTION_KEYS[kind])
    if kind == "task":
        text(code, f"{where}.title_zh", a.get("title_zh"))
        text(code, f"{where}.title_en", a.get("title_en"))
        if "due_hours" in a and "due_days" in a:
            raise fail(
                code,
                f"{where}.due_hours",
                "give due_hours or due_days, not both",
                "keep one of them",
            )
        days = a.pop("due_days", None)
        hours = None if days is None else number(code, f"{where}.due_days", days, low=1)
        a["due_hours"] = number(
            code,
            f"{where}.due_hours",
            a.get("due_hours", 24 if hours is None else hours * 24),
            low=1,
            integer=True,
        )
        a["priority"] = choice(
            code, f"{where}.priority", a.get("priority", "normal"), tuple(TicketPriority)
        )
        a["assignee"] = choice(
            code, f"{where}.assignee", a.get("assignee", "owner"), ("owner", "team")
        )
        if a["assignee"] == "team" or "team" in a:
            text(code, f"{where}.team", a.get("team"))
        a["channel"] = choice(
            code,
            f"{where}.channel",
            a.get("channel", "phone"),
            ("phone", "email", "chat", "visit", "social", "after_sales"),
        )
    elif kind == "message":
        choice(code, f"{where}.channel", a.get("channel"), MESSAGE_CHANNELS)
        text(code, f"{where}.template", a.get("template"))
        for key in ("subject_zh", "subject_en", "body_zh", "body_en"):
            text(code, f"{where}.{key}", a.get(key), required=key.startswith("body"))
    elif kind == "reward":
        a["points"] = number(
            code, f"{where}.points", a.get("points"), low=1, high=MAX_COUNT, integer=True
        )
        a["reason"] = choice(
            code, f"{where}.reason", a.get("reason", "bonus"), ("bonus", "birthday", "referral")
        )
    elif kind == "alert":
        choice(code, f"{where}.alert_kind", a.get("alert_kind"), tuple(AlertKind))
        a["severity"] = choice(
            code, f"{where}.severity", a.get("severity", "warning"), tuple(AlertSeverity)
        )
    else:
        text(code, f"{where}.tag", a.get("tag"))
    return a
