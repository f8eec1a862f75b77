"""The page 设置 Admin: staff accounts, API tokens, the business rules in force and the audit
log — for administrators (:data:`rapport.access.ADMINISTRATORS`, the roles the API's
``/users`` and ``/audit`` routes allow); every other role is refused (403).

Every write goes through the store function the command line (``rapport users …``) and the
API use — :func:`rapport.store.users.create_user`, ``set_password``, ``set_active``,
``change_role``; :func:`rapport.store.tokens.issue` and ``revoke`` — in one writer's
transaction with its audit entry (``create`` / ``update`` of ``users`` or ``api_tokens``,
detail ``{"via": "web", "fields": [...]}``: the names of the fields, never a password or a
secret). The store refuses a weak password (with the reason, in the page's language) and
keeps the last active administrator; :func:`rapport.access.check_account_change` keeps an
administrator from disabling or demoting themselves. The audit log is read with
:func:`rapport.store.audit.list_entries` one keyset page at a time
(:mod:`rapport.store.paging`), as ``GET /api/v1/audit`` reads it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy.orm import Session

from rapport.access import ADMINISTRATORS, Principal, check_account_change
from rapport.config import Rules, rules_file
from rapport.domain import AuditAction, Role
from rapport.errors import NotFound, RapportError, ValidationFailed
from rapport.i18n.errors import error_text
from rapport.i18n.locale import pick
from rapport.store import audit, schema, tokens, users
from rapport.store.loyalty import TIER_NAMES
from rapport.store.paging import PageRequest, SortKey, decode_cursor
from rapport.store.repository import utcnow
from rapport.web import render
from rapport.web.auth import CSRF, client_address, roles, writing
from rapport.web.i18n import Formatter
from rapport.web.nav import NavEntry

router = APIRouter(include_in_schema=False)
NAV = NavEntry(path="/admin", key="nav.admin", order=90, roles=ADMINISTRATORS)
AdminUser = Annotated[Principal, Depends(roles(*ADMINISTRATORS))]

#: The sub-pages, in the order of the page's tabs.
SECTIONS = ("users", "tokens", "rules", "audit")
#: Audit entries a page shows.
AUDIT_PAGE = 50
#: Entries of the CSV export at most (the newest that match).
CSV_MAX = 10_000
#: The log's order: newest first, as ``GET /api/v1/audit`` pages it.
AUDIT_ORDER = [SortKey(schema.audit_log.c.id, descending=True)]
#: The longest token validity the form takes (days).
MAX_TOKEN_DAYS = 3650


def _audit(
    session: Session,
    request: Request,
    user: Principal,
    action: AuditAction,
    entity: str,
    entity_id: int,
    fields: list[str],
) -> None:
    """A write's audit entry, as the API writes it, in the write's own transaction."""
    audit.record(
        session=session,
        actor=user.actor,
        actor_user_id=user.user_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        detail={"via": user.via, "fields": sorted(fields)},
        client_address=client_address(request),
    )


def _id(value: str) -> int | None:
    ok = value.isascii() and value.isdigit() and 0 < len(value) < 10
    return int(value) if ok else None


@dataclass
class FormState:
    """One form of the page: what was typed (never a password), each field's problem, and
    the outcome."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _field_of(error: RapportError, fields: tuple[str, ...]) -> str:
    """The form field that shows a store error (its ``field``, when the form has it)."""
    return error.field if error.field in fields else "_form"


def _page(
    request: Request, section: str, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    return render.page(
        request,
        template,
        {"section": section, "sections": SECTIONS, "message": None, **context},
        status=status,
    )


@router.get("/admin")
def admin_home(request: Request, user: AdminUser) -> Response:
    return render.redirect(request, "/admin/users")


# --- users ---------------------------------------------------------------------------------

USER_FIELDS = ("username", "display_name", "email", "role", "team", "password", "password_again")


def _users_page(
    request: Request,
    user: Principal,
    *,
    create: FormState | None = None,
    row_errors: dict[int, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    with request.app.state.sessions() as session:
        rows = users.list_users(session=session)
        last = audit.last_logins(session=session, user_ids=[r["id"] for r in rows])
    people = [
        {
            **{k: r[k] for k in ("id", "username", "display_name", "email", "team", "is_active")},
            "role": Role(r["role"]),
            "has_password": r["password_hash"] is not None,
            "last_login": last.get(r["id"]),
        }
        for r in rows
    ]
    context = {
        "people": people,
        "active": sum(1 for p in people if p["is_active"]),
        "roles": list(Role),
        "create": create or FormState(values={"role": Role.SALES.value}),
        "row_errors": row_errors or {},
        "message": message,
        "min_length": users.PasswordPolicy.from_settings(render.settings_of(request)).min_length,
    }
    return _page(request, "users", "admin_users.html", context, status)


@router.get("/admin/users")
def users_page(request: Request, user: AdminUser) -> Response:
    return _users_page(request, user)


Text = Annotated[str, Form(max_length=2048)]


@router.post("/admin/users", dependencies=CSRF)
def create_user(
    request: Request,
    user: AdminUser,
    username: Text = "",
    display_name: Text = "",
    email: Text = "",
    role: Text = "",
    team: Text = "",
    password: Text = "",
    password_again: Text = "",
) -> Response:
    """Create an account with a password, as ``rapport users add`` does (the store checks
    the password's strength); audited as a ``create`` of ``users``."""
    fmt = render.formatter(request)
    typed = {
        "username": username,
        "display_name": display_name,
        "email": email,
        "role": role,
        "team": team,
    }
    state = FormState(values=typed)
    for name in ("username", "role", "password"):
        if not (password if name == "password" else typed[name]).strip():
            state.errors[name] = fmt.t("admin.required")
    if password and password != password_again:
        state.errors["password_again"] = fmt.t("users_page.passwords_differ")
    if not state.errors:

        def work(session: Session) -> dict[str, Any]:
            row = users.create_user(
                session=session,
                username=username.strip(),
                role=role.strip(),
                password=password,
                display_name=display_name.strip() or None,
                email=email.strip() or None,
                team=team.strip() or None,
            )
            given = [k for k, v in typed.items() if v.strip()] + ["password"]
            _audit(session, request, user, AuditAction.CREATE, "users", row["id"], given)
            return row

        try:
            row = writing(request, work)
        except RapportError as exc:  # the store's keyed refusal, in the page's language
            state.errors[_field_of(exc, USER_FIELDS)] = error_text(exc, fmt.locale)
        else:
            done = fmt.t("users_page.created", username=row["username"])
            return _users_page(request, user, message=done)
    return _users_page(request, user, create=state, status=422)


def _user_write(
    request: Request,
    user: Principal,
    user_id: str,
    change: Any,
) -> Response:
    """Run ``change(session, row)`` on the account ``user_id`` in a writer's transaction;
    it returns the message of the outcome. A refusal shows next to the account's row."""
    fmt = render.formatter(request)
    number = _id(user_id)
    if number is None:
        return render.page(request, "admin_not_found.html", status=404)

    def work(session: Session) -> str:
        return change(session, users.get(session=session, id=number))

    try:
        message = writing(request, work)
    except NotFound:
        return render.page(request, "admin_not_found.html", status=404)
    except RapportError as exc:
        status = 403 if exc.exit_code == 12 else 409 if exc.exit_code == 6 else 422
        return _users_page(
            request, user, row_errors={number: error_text(exc, fmt.locale)}, status=status
        )
    return _users_page(request, user, message=message)


@router.post("/admin/users/{user_id}/active", dependencies=CSRF)
def set_active(
    request: Request, user: AdminUser, user_id: str, active: Annotated[str, Form()] = ""
) -> Response:
    """Disable (``active=0``) or enable (``active=1``) an account, as ``rapport users
    disable``; a disabled account's sessions end at its next request. Audited as an
    ``update`` of ``users`` with the field ``is_active``."""
    fmt = render.formatter(request)
    wanted = active == "1"

    def change(session: Session, row: dict[str, Any]) -> str:
        check_account_change(user, row["id"], role=Role(row["role"]), active=wanted)
        done = users.set_active(session=session, user_id=row["id"], active=wanted)
        if row["is_active"] != done["is_active"]:
            _audit(session, request, user, AuditAction.UPDATE, "users", row["id"], ["is_active"])
        key = "users_page.enabled_done" if wanted else "users_page.disabled_done"
        return fmt.t(key, username=row["username"])

    return _user_write(request, user, user_id, change)


@router.post("/admin/users/{user_id}/role", dependencies=CSRF)
def change_role(
    request: Request,
    user: AdminUser,
    user_id: str,
    role: Annotated[str, Form(max_length=32)] = "",
    team: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Change an account's role and team; audited as an ``update`` of ``users`` naming the
    fields that changed (none: no entry)."""
    fmt = render.formatter(request)

    def change(session: Session, row: dict[str, Any]) -> str:
        try:
            wanted = Role(role.strip())
        except ValueError:
            wanted = None
        if wanted is not None:
            check_account_change(user, row["id"], role=wanted, active=row["is_active"])
        done = users.change_role(
            session=session, user_id=row["id"], role=role.strip(), team=team.strip() or None
        )
        changed = [k for k in ("role", "team") if row[k] != done[k]]
        if not changed:
            return fmt.t("users_page.unchanged", username=row["username"])
        _audit(session, request, user, AuditAction.UPDATE, "users", row["id"], changed)
        return fmt.t("users_page.changed", username=row["username"])

    return _user_write(request, user, user_id, change)


@router.post("/admin/users/{user_id}/password", dependencies=CSRF)
def reset_password(
    request: Request, user: AdminUser, user_id: str, password: Text = ""
) -> Response:
    """Set a new password, as ``PUT /api/v1/users/{id}/password`` (the policy refuses a
    weak one); audited as an ``update`` of ``users`` with the field ``password``."""
    fmt = render.formatter(request)

    def change(session: Session, row: dict[str, Any]) -> str:
        users.set_password(session=session, user_id=row["id"], password=password)
        _audit(session, request, user, AuditAction.UPDATE, "users", row["id"], ["password"])
        return fmt.t("users_page.password_done", username=row["username"])

    return _user_write(request, user, user_id, change)


# --- API tokens ----------------------------------------------------------------------------

TOKEN_FIELDS = ("user_id", "name", "scopes", "expires_days")


def token_state(token: dict[str, Any], now: dt.datetime) -> str:
    """``active``, ``revoked`` or ``expired`` (as ``rapport users list`` shows them)."""
    if token["revoked_at"] is not None:
        return "revoked"
    expires = token["expires_at"]
    if (
        expires is not None
        and (expires if expires.tzinfo else expires.replace(tzinfo=dt.UTC)) <= now
    ):
        return "expired"
    return "active"


def _tokens_page(
    request: Request,
    user: Principal,
    *,
    create: FormState | None = None,
    issued: dict[str, Any] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    now = utcnow()
    with request.app.state.sessions() as session:
        people = users.list_users(session=session)
        rows = tokens.list_tokens(session=session)
    names = {p["id"]: p["username"] for p in people}
    shown = [
        {
            **{k: t[k] for k in ("id", "name", "prefix", "scopes", "created_at")},
            "last_used_at": t["last_used_at"],
            "expires_at": t["expires_at"],
            "username": names.get(t["user_id"], ""),
            "state": token_state(t, now),
        }
        for t in reversed(rows)  # newest first
    ]
    context = {
        "tokens": shown,
        "live": sum(1 for t in shown if t["state"] == "active"),
        "people": [p for p in people if p["is_active"]],
        "resources": tokens.RESOURCES,
        "create": create or FormState(),
        "issued": issued,
        "message": message,
        "max_days": MAX_TOKEN_DAYS,
    }
    return _page(request, "tokens", "admin_tokens.html", context, status)


@router.get("/admin/tokens")
def tokens_page(request: Request, user: AdminUser) -> Response:
    return _tokens_page(request, user)


@router.post("/admin/tokens", dependencies=CSRF)
def issue_token(
    request: Request,
    user: AdminUser,
    user_id: Annotated[str, Form(max_length=12)] = "",
    name: Annotated[str, Form(max_length=256)] = "",
    expires_days: Annotated[str, Form(max_length=12)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Issue an API token as ``rapport users token`` does: the secret is shown on this
    answer only, with the command's notice; audited as a ``create`` of ``api_tokens``."""
    fmt = render.formatter(request)
    owner, name, days = user_id.strip(), name.strip(), expires_days.strip()
    scopes = [s[:64] for s in scopes or []][:100]
    state = FormState(
        values={"user_id": owner, "name": name, "scopes": scopes, "expires_days": days}
    )
    owner_id = _id(owner)
    if not name:
        state.errors["name"] = fmt.t("admin.required")
    if owner_id is None:
        state.errors["user_id"] = fmt.t("tokens_page.bad_user")
    expires_at = None
    if days:
        number = _id(days)
        if number is None or not 1 <= number <= MAX_TOKEN_DAYS:
            state.errors["expires_days"] = fmt.t("tokens_page.bad_days")
        else:
            expires_at = utcnow() + dt.timedelta(days=number)
    if state.errors:
        return _tokens_page(request, user, create=state, status=422)
    assert owner_id is not None

    def work(session: Session) -> tuple[str, dict[str, Any], dict[str, Any]]:
        person = users.get(session=session, id=owner_id)
        if not person["is_active"]:
            raise NotFound(
                "no active user", table="users", field="user_id", key="active_user_not_found"
            )
        secret, row = tokens.issue(
            session=session, user_id=owner_id, name=name, scopes=scopes, expires_at=expires_at
        )
        fields = ["name", "scopes", "user_id"] + (["expires_at"] if expires_at else [])
        _audit(session, request, user, AuditAction.CREATE, "api_tokens", row["id"], fields)
        return secret, row, person

    try:
        secret, row, person = writing(request, work)
    except NotFound:
        state.errors["user_id"] = fmt.t("tokens_page.bad_user")
        return _tokens_page(request, user, create=state, status=422)
    except RapportError as exc:
        state.errors[_field_of(exc, TOKEN_FIELDS)] = error_text(exc, fmt.locale)
        return _tokens_page(request, user, create=state, status=422)
    until = (
        fmt.t("users.token_until", day=expires_at.astimezone(fmt.zone).date().isoformat())
        if expires_at
        else ""
    )
    notice = fmt.t(
        "users.token_issued",
        id=row["id"],
        name=name,
        username=person["username"],
        scopes=", ".join(row["scopes"]),
        until=until,
    )
    return _tokens_page(request, user, issued={"secret": secret, "notice": notice, "id": row["id"]})


@router.post("/admin/tokens/{token_id}/revoke", dependencies=CSRF)
def revoke_token(request: Request, user: AdminUser, token_id: str) -> Response:
    """Revoke a token as ``rapport users revoke`` does (it answers 401 from now on);
    audited as an ``update`` of ``api_tokens`` with the field ``revoked_at`` (a token
    revoked before: nothing changes, no entry)."""
    fmt = render.formatter(request)
    number = _id(token_id)
    if number is None:
        return render.page(request, "admin_not_found.html", status=404)

    def work(session: Session) -> dict[str, Any]:
        before = tokens.repo.get(session=session, id=number)
        row = tokens.revoke(session=session, token_id=number)
        if before["revoked_at"] is None:
            _audit(session, request, user, AuditAction.UPDATE, "api_tokens", number, ["revoked_at"])
        return row

    try:
        writing(request, work)
    except NotFound:
        return render.page(request, "admin_not_found.html", status=404)
    return _tokens_page(request, user, message=fmt.t("tokens_page.revoked_done", id=number))


# --- the business rules --------------------------------------------------------------------

#: The sections of the rules page: a path of :class:`rapport.config.Rules`.
RULE_SECTIONS = (
    "business",
    "activity",
    "sla",
    "loyalty",
    "scores.tiers",
    "scores.rfm",
    "scores.lifecycle",
    "scores.relationship_index",
    "scores.satisfaction",
    "scores.loyalty",
    "scores.engagement",
    "scores.advocacy",
    "scores.depth",
    "models",
    "costs",
)


#: Rules that are shares or probabilities, shown as percentages.
PERCENTS = ("gross_margin", "revenue_top_share", "growth_share", "discount_rate", "churn_risk")


@dataclass
class RuleTable:
    """A list of rules (tiers, segments …) or a map by an enumeration, as a table."""

    key: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class RuleSection:
    key: str
    anchor: str
    values: list[tuple[str, str]]  # (label, shown value)
    tables: list[RuleTable]


def _shown(value: Any, path: str, fmt: Formatter) -> str:
    """One rule's value in the page's language."""
    if isinstance(value, bool):
        return fmt.t("admin.yes" if value else "admin.no")
    if isinstance(value, StrEnum):
        return fmt.enum(value)
    if isinstance(value, int | float):
        if path.endswith(PERCENTS):
            return fmt.percent(value, 0 if float(value * 100).is_integer() else 1)
        digits = 0 if float(value).is_integer() else min(4, len(repr(float(value)).split(".")[1]))
        return fmt.number(value, digits)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return fmt.t("rules_page.range", low=value[0], high=value[1])
    if isinstance(value, list | tuple):
        sep = "、" if fmt.locale == "zh_CN" else ", "
        return (
            Markup(sep).join(_shown(v, path, fmt) for v in value) if value else fmt.t("admin.none")
        )
    if isinstance(value, str):
        if path.endswith(("lapsed_segment", "segments.id")):
            return fmt.segment(value)
        if path.endswith("tiers.code"):
            names = TIER_NAMES.get(value)
            return pick(names, fmt.locale) if names else value
        shown = fmt.label_or(f"rules.literal.{value}", value)
        if shown == value:  # no literal of the rules: the business's own text, shown as data
            return Markup('<span class="data">{}</span>').format(value)
        return shown
    return str(value)


def _walk(model: BaseModel, path: str, fmt: Formatter, section: RuleSection) -> None:
    for name in type(model).model_fields:
        value = getattr(model, name)
        here = f"{path}.{name}"
        if isinstance(value, BaseModel):
            _walk(value, here, fmt, section)
        elif isinstance(value, dict):
            section.tables.append(
                RuleTable(
                    key=f"rules.{here}",
                    columns=["rules_page.key", "rules_page.value"],
                    rows=[[_shown(k, here, fmt), _shown(v, here, fmt)] for k, v in value.items()],
                )
            )
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            fields = list(type(value[0]).model_fields)
            section.tables.append(
                RuleTable(
                    key=f"rules.{here}",
                    columns=[f"rules.{here}.{f}" for f in fields],
                    rows=[
                        [_shown(getattr(r, f), f"{here}.{f}", fmt) for f in fields] for r in value
                    ],
                )
            )
        else:
            section.values.append((f"rules.{here}", _shown(value, here, fmt)))


def rule_sections(rules: Rules, fmt: Formatter) -> list[RuleSection]:
    """The rules in force as readable sections: each value with its label, each list or
    map of rules as a table."""
    out = []
    for path in RULE_SECTIONS:
        model: Any = rules
        for part in path.split("."):
            model = getattr(model, part)
        section = RuleSection(
            key=f"rules.{path}", anchor=path.replace(".", "-"), values=[], tables=[]
        )
        _walk(model, path, fmt, section)
        out.append(section)
    return out


@router.get("/admin/rules")
def rules_page(request: Request, user: AdminUser) -> Response:
    fmt = render.formatter(request)
    source = rules_file(render.settings_of(request))
    context = {
        "rule_sections": rule_sections(request.app.state.rules, fmt),
        "source": str(source) if source else None,
    }
    return _page(request, "rules", "admin_rules.html", context)


# --- the audit log -------------------------------------------------------------------------

AUDIT_FILTERS = ("actor", "customer", "action", "since", "until")


@dataclass
class AuditQuery:
    """The filters of the audit page as the store takes them, what the URL keeps, and each
    filter's problem."""

    filters: dict[str, Any]
    kept: dict[str, str]
    errors: dict[str, str]


def _local_day(text: str, zone: ZoneInfo, *, next_day: bool) -> dt.datetime:
    """The start of the local day ``text`` (or of the next one), in UTC."""
    day = dt.date.fromisoformat(text) + dt.timedelta(days=next_day)
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def parse_audit_query(params: Any, fmt: Formatter) -> AuditQuery:
    """The audit filters from the URL: an actor's username, a customer id, an action, and
    local dates from and to (both inclusive, as ``rapport audit --since/--until``)."""
    kept = {k: str(params.get(k, "")).strip()[:128] for k in AUDIT_FILTERS}
    kept = {k: v for k, v in kept.items() if v}
    filters: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "actor" in kept:
        filters["actor"] = kept["actor"]
    if "customer" in kept:
        number = _id(kept["customer"])
        if number is None:
            errors["customer"] = fmt.t("audit_page.bad_customer")
        else:
            filters["customer_id"] = number
    if "action" in kept:
        try:
            filters["action"] = AuditAction(kept["action"])
        except ValueError:
            kept.pop("action")
    for name, next_day in (("since", False), ("until", True)):
        if name in kept:
            try:
                filters[name] = _local_day(kept[name], fmt.zone, next_day=next_day)
            except ValueError:
                errors[name] = fmt.t("audit_page.bad_date")
    if "since" in filters and "until" in filters and filters["since"] >= filters["until"]:
        errors["until"] = fmt.t("audit_page.until_before_since")
    return AuditQuery(filters=filters, kept=kept, errors=errors)


def _audit_url(kept: dict[str, str], path: str = "/admin/audit", **extra: str) -> str:
    values = {**kept, **extra}
    return path + ("?" + urlencode(values) if values else "")


def _detail(value: Any) -> str:
    if not value:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


@router.get("/admin/audit")
def audit_page(request: Request, user: AdminUser) -> Response:
    fmt = render.formatter(request)
    query = parse_audit_query(request.query_params, fmt)
    cursor = str(request.query_params.get("cursor", ""))[:200]
    page = PageRequest(limit=AUDIT_PAGE)
    if cursor:
        try:
            page = PageRequest(limit=AUDIT_PAGE, after=decode_cursor(cursor))
            page.start(AUDIT_ORDER)
        except ValidationFailed:  # a cursor edited by hand: the first page
            page, cursor = PageRequest(limit=AUDIT_PAGE), ""
    rows: list[dict[str, Any]] = []
    count = 0
    next_cursor = None
    if not query.errors:
        (before_id,) = page.start(AUDIT_ORDER) or (None,)
        with request.app.state.sessions() as session:
            found, count = audit.list_entries(
                session=session, limit=page.fetch, before_id=before_id, **query.filters
            )
        shown = page.cut(found, count=count)
        rows = [{**r, "action": AuditAction(r["action"]), "detail": _detail(r["detail"]),
                 "entity_label": fmt.label_or(r["entity"], "")}
                for r in shown.data]  # fmt: skip
        next_cursor = shown.next_cursor
    context = {
        "query": query,
        "rows": rows,
        "count": count,
        "actions": list(AuditAction),
        "next_url": _audit_url(query.kept, cursor=next_cursor) if next_cursor else None,
        "first_url": _audit_url(query.kept) if cursor else None,
        "csv_url": _audit_url(query.kept, path="/admin/audit.csv"),
        "csv_max": CSV_MAX,
    }
    htmx = request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )
    template = "admin_audit_list.html" if htmx else "admin_audit.html"
    return _page(request, "audit", template, context, 422 if query.errors and not htmx else 200)


@router.get("/admin/audit.csv")
def audit_csv(request: Request, user: AdminUser) -> Response:
    """The entries the filters select, newest first, at most :data:`CSV_MAX`, as CSV
    (UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese)."""
    fmt = render.formatter(request)
    query = parse_audit_query(request.query_params, fmt)
    if query.errors:
        return render.redirect(request, _audit_url(query.kept))
    with request.app.state.sessions() as session:
        rows, _ = audit.list_entries(session=session, limit=CSV_MAX, **query.filters)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ("id", "occurred_at", "actor", "actor_user_id", "action", "entity", "entity_id",
               "client_address", "detail")  # fmt: skip
    writer.writerow(columns)
    for r in rows:
        at = r["occurred_at"]
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        writer.writerow(
            [r["id"], at.isoformat(), r["actor"], r["actor_user_id"] or "", r["action"],
             r["entity"], r["entity_id"] or "", r["client_address"] or "", _detail(r["detail"])]
        )  # fmt: skip
    response = Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="rapport-audit.csv"'},
    )
    return render.with_cookie(request, response)
