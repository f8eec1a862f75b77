"""The pages 客户 Customers (search, filters, sorting, keyset paging; HTMX swaps the results
without a reload and the URL keeps the filters) and the customer 360 card, with the tier's
reasons, the loyalty panel (:mod:`rapport.web.views.card_loyalty`) and the everyday writes
(log an interaction, open a ticket, add or remove a tag, add a note) through the store
functions the API's routes use.

Access is the API's: the list and the card read through the user's
:class:`~rapport.access.CustomerScope` (a customer outside it is the same 404 page as a
missing one); analysts see personal data masked (:mod:`rapport.masking`) and may not
search by text; every view of unmasked personal data is audited (``read_pii``, with the
route ``web.list`` or ``web.360``), as the API audits its reads.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from rapport import customer360
from rapport.access import CustomerScope, Principal, may_write
from rapport.domain import (
    AuditAction,
    Direction,
    Gender,
    InteractionChannel,
    LifecycleStage,
    Role,
    TicketKind,
    TicketPriority,
    ValueTier,
)
from rapport.errors import NotFound, RapportError
from rapport.i18n.enums import timeline_labels
from rapport.i18n.errors import error_text
from rapport.masking import mask_customer
from rapport.reports.tiers import next_tier, tier_reasons
from rapport.store import (
    audit,
    customers,
    interactions,
    notes,
    tickets,
    users,
)
from rapport.store.repository import utcnow
from rapport.web import render
from rapport.web.auth import (
    CSRF,
    RoleRefused,
    WebUser,
    audit_read,
    client_address,
    writing,
)
from rapport.web.customer_list import (
    SEARCH_SCAN_LIMIT,
    SORTS,
    CustomerQuery,
    list_customers,
    owners,
)
from rapport.web.exports import export_links
from rapport.web.i18n import Formatter
from rapport.web.nav import NavEntry
from rapport.web.views.card_loyalty import LoyaltyForm, loyalty_panel

router = APIRouter(include_in_schema=False)
NAV = NavEntry(path="/customers", key="nav.customers", order=30)
ENTITY = "customers"
#: Timeline entries shown on the card.
TIMELINE_ENTRIES = 30
#: Snapshots of the relationship index line.
HISTORY_SNAPSHOTS = 24
#: Notes shown on the card, newest first.
NOTE_ENTRIES = 50
DEGREES = ("satisfaction", "loyalty", "engagement", "advocacy")
#: Query parameters of the list that the URL keeps (the cursor is added by the pager).
FILTERS = ("q", "tier", "stage", "segment", "owner", "city", "marketable", "sort")


def _enum(enum: type, value: str | None) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


def parse_query(params: Any, segments: list[str]) -> tuple[CustomerQuery, dict[str, str]]:
    """The list's query from the URL's parameters (unknown values are ignored, never an
    error page), and the filters as they stay in the URL."""
    kept = {k: params.get(k, "").strip() for k in FILTERS}
    kept = {k: v for k, v in kept.items() if v}
    owner = kept.get("owner")
    marketable = {"yes": True, "no": False}.get(kept.get("marketable", ""))
    query = CustomerQuery(
        q=kept.get("q", "")[:128] or None,
        tier=_enum(ValueTier, kept.get("tier")),
        stage=_enum(LifecycleStage, kept.get("stage")),
        segment=kept.get("segment") if kept.get("segment") in segments else None,
        owner_id=_int(owner),
        unowned=owner == "none",
        city=kept.get("city", "")[:64] or None,
        marketable=marketable,
        sort=kept["sort"] if kept.get("sort") in SORTS else "id",
        after=params.get("after") or None,
    )
    return query, kept


def _shown_row(row: dict[str, Any], masked: bool) -> dict[str, Any]:
    return mask_customer(row) if masked else row


@router.get("/customers")
def customers_page(request: Request, user: WebUser) -> Response:
    rules = request.app.state.rules
    segments = [s.id for s in rules.scores.rfm.segments]
    scope = CustomerScope(user)
    query, kept = parse_query(request.query_params, segments)
    with request.app.state.sessions() as session:
        result = list_customers(session=session, scope=scope, query=query)
        owner_choices = owners(session, scope) if user.role is not Role.SALES else []
    rows = [_shown_row(r, scope.masked) for r in result.rows]
    if not scope.masked:
        audit_read(request, user, [r["id"] for r in rows], "web.list")
    context = {
        "rows": rows,
        "result": result,
        "query": query,
        "kept": kept,
        "masked": scope.masked,
        "next_url": _url(kept, after=result.next_cursor) if result.next_cursor else None,
        "first_url": _url(kept) if query.after else None,
        "tiers": list(ValueTier),
        "stages": list(LifecycleStage),
        "segments": segments,
        "owners": owner_choices,
        "sorts": list(SORTS),
        "search_limit": SEARCH_SCAN_LIMIT,
        "export": export_links("customers", kept),
    }
    partial = request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )
    return render.page(request, "customer_results.html" if partial else "customers.html", context)


def _url(kept: dict[str, str], **extra: str) -> str:
    return "/customers?" + urlencode({**kept, **extra}) if {**kept, **extra} else "/customers"


@router.get("/customers/{customer_id}")
def customer_card(request: Request, user: WebUser, customer_id: str) -> Response:
    scope = CustomerScope(user)
    number = _int(customer_id)
    try:
        if number is None:
            raise NotFound(
                "no {entity} with id {id}",
                table="customers",
                field="id",
                key="record_not_found",
                params={"entity": "customer", "id": customer_id},
            )
        with request.app.state.sessions() as session:
            row = scope.get(session=session, id=number)
            context = card_context(request, session, scope, row)
    except NotFound:
        return render.page(request, "not_found.html", status=404)
    if not scope.masked:
        audit_read(request, user, [row["id"]], "web.360")
    return render.page(request, "customer.html", context)


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
        "customer": _shown_row(row, scope.masked),
        "masked": scope.masked,
        "owner": _owner_name(session, row.get("owner_id")),
        "gender": _enum(Gender, _value(row.get("gender"))),
        "latest": latest,
        "previous": previous,
        "timeline": _timeline(timeline, fmt, scope.masked),
        "prediction": _prediction(latest),
        "radar": json.dumps(_radar(latest, previous, fmt), ensure_ascii=False),
        "trend": json.dumps(_trend(history, fmt), ensure_ascii=False),
        "history": history,
        "tier": _enum(ValueTier, _value((latest or {}).get("value_tier"))),
        "tier_met": met,
        "tier_next": next_tier(latest) if latest else None,
        "tier_lacking": lacking,
        "stage": _enum(LifecycleStage, _value((latest or {}).get("lifecycle_stage"))),
        "degrees": DEGREES,
        "loyalty": loyalty_panel(
            session, scope=scope, customer_id=number, rules=rules, fmt=fmt, form=loyalty_form
        ),
        **_writes_context(session, scope, row, forms),
    }


def _timeline(entries: list[dict[str, Any]], fmt: Formatter, masked: bool) -> list[dict[str, Any]]:
    return [_timeline_entry(e, fmt, masked) for e in entries]


# --- the card's writes ---------------------------------------------------------------------
#
# Each write is a POST of a form on the card (CSRF-checked), allowed to the roles that may
# write those records through the API (rapport.access.WRITERS; others get the forbidden page)
# and only for a customer in the user's scope (else the not-found page). It goes through the
# store function the API uses, in one writer's transaction with its audit entry (the API's
# action and entity; the detail's "via" is "web", as the principal says). Invalid input
# writes nothing and shows the form again with each field's problem in the user's language.
# An HTMX request gets the parts of the card that changed; a plain form post is redirected
# back to the card (or, on invalid input, gets the card with the form's errors, 422).

#: The writes of the card: which records each writes (the key of ``access.WRITERS``) and
#: the part of the card it changes.
WRITES = {
    "interaction": ("interactions", "timeline-panel"),
    "ticket": ("tickets", "timeline-panel"),
    "tag": ("customers", "notes-panel"),
    "note": ("customers", "notes-panel"),
}
#: Clock skew allowed for the time of an interaction given in the form.
FUTURE_SKEW = dt.timedelta(minutes=5)


@dataclass
class CardForm:
    """The state of one write form: the values typed, each field's problem, and whether it
    was just written."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    done: bool = False


def _writes_context(
    session: Any, scope: CustomerScope, row: dict[str, Any], forms: dict[str, CardForm] | None
) -> dict[str, Any]:
    user = scope.principal
    shown = _shown_row(row, scope.masked)
    written = (
        []
        if scope.masked
        else notes.for_customer(session=session, customer_id=row["id"], limit=NOTE_ENTRIES)
    )
    names = {a: _owner_name(session, a) for a in {n["author_id"] for n in written}}
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


class _Invalid(Exception):
    """The form's input is refused; ``errors`` maps its fields to their problems."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid input")
        self.errors = errors


def _write(
    request: Request,
    user: Principal,
    customer_id: str,
    form: str,
    values: dict[str, str],
    work: Callable[[Any, dict[str, Any]], tuple[AuditAction, str, int, list[str]] | None],
) -> Response:
    """Run the card's write ``form`` for the customer ``customer_id``: the role check, the
    scope, then ``work(session, customer)`` in a writer's transaction, which writes through
    the store and returns what to audit (``None``: nothing changed), or raises
    :class:`_Invalid` (or a store's :class:`RapportError`) to write nothing."""
    records, part = WRITES[form]
    if not may_write(user, records):
        raise RoleRefused()
    scope = CustomerScope(user)
    number = _int(customer_id)
    fmt = render.formatter(request)
    state = CardForm(values=values)
    try:
        if number is None:
            raise NotFound(
                "no {entity} with id {id}",
                table="customers",
                field="id",
                key="record_not_found",
                params={"entity": "customer", "id": customer_id},
            )

        def run(session: Any) -> None:
            customer = scope.get(session=session, id=number)
            done = work(session, customer)
            if done is not None:
                action, entity, entity_id, fields = done
                audit.record(
                    session=session,
                    actor=user.actor,
                    actor_user_id=user.user_id,
                    action=action,
                    entity=entity,
                    entity_id=entity_id,
                    detail={"via": user.via, **({"fields": sorted(fields)} if fields else {})},
                    client_address=client_address(request),
                )

        writing(request, run)
        state = CardForm(done=True)
    except NotFound as exc:
        if exc.table != "customers":
            state.errors = {exc.field or "_form": error_text(exc, fmt.locale)}
        else:
            return render.page(request, "not_found.html", status=404)
    except _Invalid as exc:
        state.errors = exc.errors
    except RapportError as exc:  # the store refused a value: its keyed message
        state.errors = {_FIELDS.get(exc.field or "", "_form"): error_text(exc, fmt.locale)}
    htmx = request.headers.get("hx-request") == "true"
    if state.done and not htmx:
        return render.redirect(request, f"/customers/{number}#{part}")
    with request.app.state.sessions() as session:
        try:
            row = scope.get(session=session, id=number)  # type: ignore[arg-type]
        except NotFound:
            return render.page(request, "not_found.html", status=404)
        if htmx:  # only the part that changed
            context = {
                "customer": _shown_row(row, scope.masked),
                **_writes_context(session, scope, row, {form: state}),
            }
            if state.done and (part == "timeline-panel" or form == "note"):
                entries = customer360.customer_timeline(
                    session=session,
                    customer_id=row["id"],
                    limit=TIMELINE_ENTRIES,
                    masked=scope.masked,
                )
                context["timeline"] = _timeline(entries, fmt, scope.masked)
        else:
            context = card_context(request, session, scope, row, {form: state})
    if not htmx:  # the whole card again, as its GET shows (and audits) it
        if not scope.masked:
            audit_read(request, user, [row["id"]], "web.360")
        return render.page(request, "customer.html", context, status=422)
    if part == "timeline-panel" and not state.done:
        response = render.page(request, "customer_writes.html", context)
        response.headers["HX-Retarget"] = "#writes"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    template = "customer_timeline.html" if part == "timeline-panel" else "customer_notes.html"
    oob = {
        "oob_writes": part == "timeline-panel",
        "oob_tags": part == "notes-panel",
        # a new note is on the timeline too
        "oob_timeline": form == "note" and state.done,
    }
    return render.page(request, template, {**context, **oob})


#: Store fields → the form field that shows their problem.
_FIELDS = {
    "channel": "channel",
    "direction": "direction",
    "subject": "subject",
    "occurred_at": "occurred_at",
    "duration_seconds": "duration",
    "kind": "kind",
    "priority": "priority",
    "description": "description",
    "tags": "tag",
    "body": "note",
}


def _text_field(
    errors: dict[str, str], fmt: Formatter, name: str, value: str, limit: int | None
) -> str | None:
    """A trimmed text field (``None`` when empty), or its problem in ``errors``."""
    text = value.strip()
    if limit is not None and len(text) > limit:
        errors[name] = fmt.t("card.error_too_long", max=fmt.number(limit))
    return text or None


def _required(errors: dict[str, str], fmt: Formatter, name: str, value: str) -> str:
    if not value.strip():
        errors[name] = fmt.t("card.error_required")
    return value.strip()


FormText = Annotated[str, Form(max_length=40_000)]


@router.post("/customers/{customer_id}/interactions", dependencies=CSRF)
def log_interaction(
    request: Request,
    user: WebUser,
    customer_id: str,
    channel: FormText = "",
    direction: FormText = "",
    subject: FormText = "",
    occurred_at: FormText = "",
    duration: FormText = "",
) -> Response:
    """Log an interaction (you are its staff member), as ``POST /api/v1/interactions``."""
    fmt = render.formatter(request)
    typed = {
        "channel": channel,
        "direction": direction,
        "subject": subject,
        "occurred_at": occurred_at,
        "duration": duration,
    }

    def work(session: Any, customer: dict[str, Any]) -> tuple[AuditAction, str, int, list[str]]:
        errors: dict[str, str] = {}
        values: dict[str, Any] = {
            "customer_id": customer["id"],
            "channel": _required(errors, fmt, "channel", channel),
            "direction": direction.strip() or Direction.UNKNOWN,
            "staff_id": user.user_id,
        }
        text = _text_field(
            errors, fmt, "subject", subject, interactions.repo.rules["subject"].max_length
        )
        if text is not None:
            values["subject"] = text
        at = _local_time(errors, fmt, request, "occurred_at", occurred_at)
        if at is not None:
            values["occurred_at"] = at
        seconds = _minutes(errors, fmt, "duration", duration)
        if seconds is not None:
            values["duration_seconds"] = seconds
        if errors:
            raise _Invalid(errors)
        sent = sorted(k for k in values if k != "staff_id")
        values.setdefault("occurred_at", utcnow())
        row = interactions.repo.create(session=session, values=values)
        return AuditAction.CREATE, "interactions", row["id"], sent

    return _write(request, user, customer_id, "interaction", typed, work)


@router.post("/customers/{customer_id}/tickets", dependencies=CSRF)
def open_ticket(
    request: Request,
    user: WebUser,
    customer_id: str,
    kind: FormText = "",
    priority: FormText = "",
    subject: FormText = "",
    description: FormText = "",
) -> Response:
    """Open a ticket, as ``POST /api/v1/tickets``: due times from the priority and the SLA
    targets; a service user becomes its assignee."""
    fmt = render.formatter(request)
    typed = {"kind": kind, "priority": priority, "subject": subject, "description": description}
    rules = request.app.state.rules

    def work(session: Any, customer: dict[str, Any]) -> tuple[AuditAction, str, int, list[str]]:
        errors: dict[str, str] = {}
        values: dict[str, Any] = {
            "customer_id": customer["id"],
            "kind": _required(errors, fmt, "kind", kind),
            "priority": priority.strip() or TicketPriority.NORMAL,
        }
        limit = tickets.repo.rules["subject"].max_length
        for name, value, most in (
            ("subject", subject, limit),
            ("description", description, DESCRIPTION_LENGTH),
        ):
            text = _text_field(errors, fmt, name, value, most)
            if text is not None:
                values[name] = text
        if errors:
            raise _Invalid(errors)
        sent = sorted(values)
        if user.role is Role.SERVICE:
            values["assignee_id"] = user.user_id
        values["opened_at"] = utcnow()
        values["external_id"] = f"T-{uuid.uuid4().hex[:16]}"
        row = tickets.open_ticket(
            session=session,
            values=values,
            sla=rules.sla,
            loyalty=rules.loyalty,
            opened_by=user.user_id,
        )
        return AuditAction.CREATE, "tickets", row["id"], sent

    return _write(request, user, customer_id, "ticket", typed, work)


def _update_customer(
    session: Any, fmt: Formatter, customer: dict[str, Any], values: dict[str, Any]
) -> tuple[AuditAction, str, int, list[str]] | None:
    """Change ``values`` of the customer, as ``PATCH /api/v1/customers/{id}`` does (an erased
    customer cannot be changed); ``None`` when nothing changed."""
    if customer["erased_at"] is not None:
        raise _Invalid({"_form": fmt.t("card.error_erased")})
    row = customers.repo.update(session=session, id=customer["id"], values=values)
    changed = [k for k in values if customer.get(k) != row.get(k)]
    return (AuditAction.UPDATE, "customers", customer["id"], changed) if changed else None


@router.post("/customers/{customer_id}/tags", dependencies=CSRF)
def add_tag(request: Request, user: WebUser, customer_id: str, tag: FormText = "") -> Response:
    """Add a tag to the customer (trimmed; once; at most 50 tags of 64 characters)."""
    fmt = render.formatter(request)

    def work(session: Any, customer: dict[str, Any]) -> Any:
        problem = customers.tag_problem(customer.get("tags"), tag)
        if problem is not None:
            raise _Invalid(
                {
                    "tag": fmt.t(
                        f"card.tag_{problem.value}",
                        max=fmt.number(customers.MAX_TAG_LENGTH),
                        count=fmt.number(customers.MAX_TAGS),
                    )
                }
            )
        tags = customers.with_tag(customer.get("tags"), tag)
        return _update_customer(session, fmt, customer, {"tags": tags})

    return _write(request, user, customer_id, "tag", {"tag": tag}, work)


@router.post("/customers/{customer_id}/tags/remove", dependencies=CSRF)
def remove_tag(request: Request, user: WebUser, customer_id: str, tag: FormText = "") -> Response:
    """Remove a tag from the customer."""
    fmt = render.formatter(request)

    def work(session: Any, customer: dict[str, Any]) -> Any:
        tags = customers.without_tag(customer.get("tags"), tag)
        return _update_customer(session, fmt, customer, {"tags": tags})

    return _write(request, user, customer_id, "tag", {}, work)


@router.post("/customers/{customer_id}/notes", dependencies=CSRF)
def add_note(request: Request, user: WebUser, customer_id: str, note: FormText = "") -> Response:
    """Add a note about the customer (:mod:`rapport.store.notes`; not an interaction, so not
    a contact). An erased customer takes no new notes."""
    fmt = render.formatter(request)

    def work(session: Any, customer: dict[str, Any]) -> Any:
        errors: dict[str, str] = {}
        text = _required(errors, fmt, "note", note)
        _text_field(errors, fmt, "note", text, notes.MAX_NOTE_LENGTH)
        if errors:
            raise _Invalid(errors)
        if customer["erased_at"] is not None:
            raise _Invalid({"_form": fmt.t("card.error_erased")})
        row = notes.add(
            session=session, customer_id=customer["id"], body=text, author_id=user.user_id
        )
        return AuditAction.CREATE, "customer_notes", row["id"], ["body"]

    return _write(request, user, customer_id, "note", {"note": note}, work)


def _local_time(
    errors: dict[str, str], fmt: Formatter, request: Request, name: str, value: str
) -> dt.datetime | None:
    """A ``datetime-local`` field (the time zone of the settings) as UTC; ``None`` when
    empty; not in the future."""
    if not value.strip():
        return None
    try:
        naive = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        errors[name] = fmt.t("card.error_time")
        return None
    zone = ZoneInfo(render.settings_of(request).timezone)
    at = (naive if naive.tzinfo else naive.replace(tzinfo=zone)).astimezone(dt.UTC)
    if at > utcnow() + FUTURE_SKEW:
        errors[name] = fmt.t("card.error_future")
        return None
    return at


def _minutes(errors: dict[str, str], fmt: Formatter, name: str, value: str) -> int | None:
    """A duration in minutes (``2.5`` …) as whole seconds; ``None`` when empty."""
    if not value.strip():
        return None
    try:
        minutes = float(value.strip().replace(",", "."))
    except ValueError:
        minutes = -1.0
    if not 0 <= minutes <= 24 * 60 or minutes != minutes:
        errors[name] = fmt.t("card.error_duration")
        return None
    return round(minutes * 60)


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def _owner_name(session: Any, owner_id: int | None) -> str | None:
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
