"""The 360 card's everyday writes (:mod:`rapport.web.card`): log an interaction, open a
ticket, add or remove a tag, add a note — each a form on the card, through the store
function the API's route uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from rapport import customer360
from rapport.access import CustomerScope, Principal, may_write
from rapport.domain import (
    AuditAction,
    Direction,
    Role,
    TicketPriority,
)
from rapport.errors import NotFound, RapportError
from rapport.i18n.errors import error_text
from rapport.store import (
    audit,
    customers,
    interactions,
    notes,
    tickets,
)
from rapport.store.repository import utcnow
from rapport.web import render
from rapport.web.auth import (
    CSRF,
    RoleRefused,
    WebUser,
    client_address,
    writing,
)
from rapport.web.card import (
    DESCRIPTION_LENGTH,
    TIMELINE_ENTRIES,
    WRITES,
    CardForm,
    audit_card_read,
    card_context,
    shown_row,
    timeline_rows,
    writes_context,
)
from rapport.web.i18n import Formatter

router = APIRouter(include_in_schema=False)

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

#: Clock skew allowed for the time of an interaction given in the form.
FUTURE_SKEW = dt.timedelta(minutes=5)


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
    fmt = render.formatter(request)
    state = CardForm(values=values)
    try:
        number = render.customer_number(customer_id)

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
            return render.not_found(request)
    except _Invalid as exc:
        state.errors = exc.errors
    except RapportError as exc:  # the store refused a value: its keyed message
        state.errors = {_FIELDS.get(exc.field or "", "_form"): error_text(exc, fmt.locale)}
    htmx = request.headers.get("hx-request") == "true"
    if state.done and not htmx:
        return render.redirect(request, f"/customers/{number}#{part}")
    with request.app.state.sessions() as session:
        try:
            row = scope.get(session=session, id=number)
        except NotFound:
            return render.not_found(request)
        if htmx:  # only the part that changed
            context = {
                "customer": shown_row(row, scope.masked),
                **writes_context(session, scope, row, {form: state}),
            }
            if state.done and (part == "timeline-panel" or form == "note"):
                entries = customer360.customer_timeline(
                    session=session,
                    customer_id=row["id"],
                    limit=TIMELINE_ENTRIES,
                    masked=scope.masked,
                )
                context["timeline"] = timeline_rows(entries, fmt, scope.masked)
        else:
            context = card_context(request, session, scope, row, {form: state})
    if not htmx:  # the whole card again, as its GET shows (and audits) it
        audit_card_read(request, user, scope, row["id"])
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
