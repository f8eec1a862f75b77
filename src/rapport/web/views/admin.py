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
administrator from disabling or demoting themselves. The tabs *Rules* and *Audit log* are
:mod:`rapport.web.views.admin_rules` and :mod:`rapport.web.views.admin_audit`, with this
module's :data:`AdminUser` and :func:`section_page`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from rapport.access import ADMINISTRATORS, Principal, check_account_change
from rapport.domain import AuditAction, Role
from rapport.errors import NotFound, RapportError
from rapport.i18n.errors import error_text
from rapport.store import audit, tokens, users
from rapport.store.repository import utcnow
from rapport.web import render
from rapport.web.auth import CSRF, client_address, roles, writing
from rapport.web.nav import NavEntry

router = APIRouter(include_in_schema=False)
NAV = NavEntry(path="/admin", key="nav.admin", order=90, roles=ADMINISTRATORS)
AdminUser = Annotated[Principal, Depends(roles(*ADMINISTRATORS))]

#: The sub-pages, in the order of the page's tabs.
SECTIONS = ("users", "tokens", "rules", "audit")
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


@dataclass
class FormState:
    """One form of the page: what was typed (never a password), each field's problem, and
    the outcome."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _field_of(error: RapportError, fields: tuple[str, ...]) -> str:
    """The form field that shows a store error (its ``field``, when the form has it)."""
    return error.field if error.field in fields else "_form"


def section_page(
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
    return section_page(request, "users", "admin_users.html", context, status)


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
    number = render.whole_number(user_id)
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


def token_rows(session: Session, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every API token as the page lists it, newest first: its id, name, prefix, scopes,
    times, its user's name (of ``people``) and its state now; never its secret or hash."""
    now = utcnow()
    names = {p["id"]: p["username"] for p in people}
    return [
        {
            **{k: t[k] for k in ("id", "name", "prefix", "scopes", "created_at")},
            "last_used_at": t["last_used_at"],
            "expires_at": t["expires_at"],
            "username": names.get(t["user_id"], ""),
            "state": token_state(t, now),
        }
        for t in reversed(tokens.list_tokens(session=session))  # newest first
    ]


def _tokens_page(
    request: Request,
    user: Principal,
    *,
    create: FormState | None = None,
    issued: dict[str, Any] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    with request.app.state.sessions() as session:
        people = users.list_users(session=session)
        shown = token_rows(session, people)
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
    return section_page(request, "tokens", "admin_tokens.html", context, status)


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
    owner_id = render.whole_number(owner)
    if not name:
        state.errors["name"] = fmt.t("admin.required")
    if owner_id is None:
        state.errors["user_id"] = fmt.t("tokens_page.bad_user")
    expires_at = None
    if days:
        number = render.whole_number(days)
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
    number = render.whole_number(token_id)
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
