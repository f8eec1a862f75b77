"""``rapport users add|passwd|list|disable|unlock|token|revoke``: staff accounts and API
tokens.

Passwords are never taken as command-line arguments (they would stay in the shell
history and show in process lists): ``add`` prompts for one, reads it from standard input
with ``--password-stdin``, or creates an account without a password (``--no-password``,
for integrations that only use API tokens); ``passwd`` sets or resets the password of an
existing account (such as the sample company's staff, created without one) the same
way. Weak passwords are refused with the reason
(:func:`rapport.store.users.check_password`). ``unlock`` lifts the log-in lock-out of an
account or a client address (:mod:`rapport.store.login_throttle`). A token's secret is
printed once, on standard output alone, so that it can be piped into a secret store.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated, Literal, overload

import typer
from rich.markup import escape
from rich.table import Table

from rapport.cli.common import console, store_engine
from rapport.config import get_settings
from rapport.domain import Role
from rapport.errors import ValidationFailed
from rapport.i18n.enums import value_label
from rapport.i18n.labels import t
from rapport.store import login_throttle, session_scope, tokens, users
from rapport.store.repository import utcnow

users_app = typer.Typer(
    help="Staff accounts (roles, passwords) and API tokens for integrations.",
    no_args_is_help=True,
)


@overload
def _password(password_stdin: bool, no_password: Literal[False]) -> str: ...
@overload
def _password(password_stdin: bool, no_password: bool) -> str | None: ...
def _password(password_stdin: bool, no_password: bool) -> str | None:
    if no_password and password_stdin:
        raise ValidationFailed(
            "--no-password and --password-stdin exclude each other",
            field="password",
            key="users_password_options",
        )
    if no_password:
        return None
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    locale = _locale()
    # asked twice here rather than with typer's confirmation_prompt, whose complaint about
    # two different entries is English only
    password = typer.prompt(t("users.password", locale), hide_input=True)
    if typer.prompt(t("users.password_again", locale), hide_input=True) != password:
        raise ValidationFailed(
            "the two passwords differ", field="password", key="users_passwords_differ"
        )
    return str(password)


def _locale() -> str:
    return get_settings().locale


@users_app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="Log-in name (unique).")],
    role: Annotated[Role, typer.Option(help="admin, manager, sales, service or analyst.")],
    team: Annotated[str | None, typer.Option(help="Team (managers see their team).")] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown to others.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="No log-in; API tokens only.")
    ] = False,
) -> None:
    """Create a staff account (the password is prompted for, never an argument)."""
    password = _password(password_stdin, no_password)
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            user = users.create_user(
                session=session,
                username=username,
                role=role,
                password=password,
                display_name=display_name,
                email=email,
                team=team,
            )
    finally:
        engine.dispose()
    locale = _locale()
    team_text = t("users.team_part", locale).format(team=team) if team else ""
    text = t("users.added", locale).format(
        username=user["username"],
        id=user["id"],
        role=value_label("users", "role", role, locale),
        team=team_text,
    )
    console.print(f"[green]✓[/] {escape(text)}", highlight=False)


@users_app.command("passwd")
def passwd_command(
    username: Annotated[str, typer.Argument(help="Log-in name of an existing account.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set or reset an account's password (prompted for twice, or read from standard input)."""
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            user = users.get_by_username(session=session, username=username)
            password = _password(password_stdin, no_password=False)
            users.set_password(session=session, user_id=user["id"], password=password)
    finally:
        engine.dispose()
    text = t("users.password_set", _locale()).format(username=username)
    console.print(f"[green]✓[/] {escape(text)}", highlight=False)


@users_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every account with its role, team and state, and its API tokens."""
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            rows = users.list_users(session=session)
            by_user: dict[int, list[dict]] = {}
            for token in tokens.list_tokens(session=session):
                by_user.setdefault(token["user_id"], []).append(token)
    finally:
        engine.dispose()
    if as_json:
        payload = [
            {
                **{k: u[k] for k in ("id", "username", "display_name", "email", "team")},
                "role": str(u["role"]),
                "is_active": u["is_active"],
                "has_password": u["password_hash"] is not None,
                "tokens": [_token_json(t) for t in by_user.get(u["id"], [])],
            }
            for u in rows
        ]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    locale = _locale()
    headers = ("id", "username", "role", "team", "active", "tokens")
    table = Table(*(t(f"users.{h}", locale) for h in headers), title=t("users.title", locale))
    for u in rows:
        live = [t for t in by_user.get(u["id"], []) if _token_state(t) == "active"]
        shown = ", ".join(f"{t['name']} ({t['prefix']}…)" for t in live) or "—"
        table.add_row(
            str(u["id"]),
            u["username"],
            value_label("users", "role", u["role"], locale),
            u["team"] or "—",
            t("users.yes", locale) if u["is_active"] else f"[red]{t('users.no', locale)}[/]",
            shown,
        )
    console.print(table)


def _token_state(token: dict) -> str:
    if token["revoked_at"] is not None:
        return "revoked"
    if token["expires_at"] is not None and token["expires_at"] <= utcnow():
        return "expired"
    return "active"


def _token_json(token: dict) -> dict:
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": token["id"],
        "name": token["name"],
        "prefix": token["prefix"],
        "scopes": token["scopes"],
        "state": _token_state(token),
        "created_at": iso(token["created_at"]),
        "last_used_at": iso(token["last_used_at"]),
        "expires_at": iso(token["expires_at"]),
    }


@users_app.command("disable")
def disable_command(username: Annotated[str, typer.Argument(help="Log-in name.")]) -> None:
    """Deactivate an account: no more log-ins, its API tokens stop working; history stays."""
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            users.disable(session=session, username=username)
    finally:
        engine.dispose()
    text = t("users.disabled", _locale()).format(username=username)
    console.print(f"[green]✓[/] {escape(text)}", highlight=False)


@users_app.command("unlock")
def unlock_command(
    username: Annotated[
        str | None, typer.Argument(help="The account whose failed log-ins to forget.")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="A client address whose failed log-ins to forget.")
    ] = None,
) -> None:
    """Lift a log-in lock-out: forget the failed log-ins of an account, an address or both."""
    if username is None and address is None:
        raise ValidationFailed(
            "name an account, an address (--address) or both",
            hint="rapport users unlock li.na",
            key="users_unlock_what",
        )
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            removed = login_throttle.clear(session=session, username=username, address=address)
    finally:
        engine.dispose()
    locale = _locale()
    parts = []
    if username:
        parts.append(t("users.account", locale).format(username=username))
    if address:
        parts.append(t("users.address", locale).format(address=address))
    what = t("users.and", locale).join(parts)
    state = "users.unlocked" if removed else "users.nothing_counted"
    console.print(f"[green]✓[/] {escape(t(state, locale).format(what=what))}", highlight=False)


@users_app.command("token")
def token_command(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. shop-sync.")],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help="customers:read, orders:write … (repeat the option); * for all the user may do.",
        ),
    ],
    expires_days: Annotated[
        int | None, typer.Option(min=1, help="Expire after this many days (default: never).")
    ] = None,
) -> None:
    """Issue an API token for a user; prints the secret once — store it now."""
    expires_at = utcnow() + dt.timedelta(days=expires_days) if expires_days else None
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            user = users.get_by_username(session=session, username=username)
            secret, row = tokens.issue(
                session=session,
                user_id=user["id"],
                name=name,
                scopes=scope,
                expires_at=expires_at,
            )
    finally:
        engine.dispose()
    typer.echo(secret)
    locale = _locale()
    until = (
        t("users.token_until", locale).format(day=f"{expires_at:%Y-%m-%d}") if expires_at else ""
    )
    notice = t("users.token_issued", locale).format(
        id=row["id"], name=name, username=username, scopes=", ".join(row["scopes"]), until=until
    )
    typer.echo(notice, err=True)


@users_app.command("revoke")
def revoke_command(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `rapport users list`).")],
) -> None:
    """Revoke an API token: it answers 401 from now on."""
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            row = tokens.revoke(session=session, token_id=token_id)
    finally:
        engine.dispose()
    text = t("users.token_revoked", _locale()).format(id=row["id"], name=row["name"])
    console.print(f"[green]✓[/] {escape(text)}", highlight=False)
