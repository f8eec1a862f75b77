"""An app per test, on SQLite and PostgreSQL (the ``backend`` matrix), with its own
transaction: every session of the app and of the test joins one connection whose outer
transaction is rolled back after the test (SQLite: also a fresh database file per test).

``people`` and ``book`` give every role its users and a customer book with known owners.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from rapport.api.app import create_app
from rapport.api.security import create_access_token
from rapport.config import Settings, SlaRules, load_rules
from rapport.domain import Role, TicketKind, TicketPriority
from rapport.store import customers, tickets, users
from rapport.store.db import create_engine, upgrade

PASSWORD = "correct horse battery"
SECRET = "test-secret-key-of-at-least-32-characters"
T0 = dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC)
#: An id no record has: the routes answer 404 for it as for a record outside the scope.
MISSING_ID = 987_654
SLA = SlaRules(
    first_response_hours=dict.fromkeys(TicketPriority, 4.0),
    resolution_hours=dict.fromkeys(TicketPriority, 48.0),
)


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "password_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


_check_password = users.check_password
#: The arguments of the passwords ``check_password`` accepted in this worker.
_ACCEPTED: set[tuple[Any, ...]] = set()


@pytest.fixture(autouse=True)
def remembered_password_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """``check_password`` runs once per set of arguments it accepts: it is a function of
    them alone, and the seven users of :func:`people` (the same in every test) would pay
    zxcvbn's ~5 ms each in each of the API tests. A refusal is never remembered."""

    def check(password: str, *, username: str, **others: Any) -> None:
        key = (password, username, *sorted(others.items()))
        if key not in _ACCEPTED:
            _check_password(password, username=username, **others)
            _ACCEPTED.add(key)

    monkeypatch.setattr(users, "check_password", check)


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        data_dir=tmp_path / "data",
        secret_key=SECRET,
        max_page_size=100,
    )


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    """The test's own session on the app's connection (data it commits is seen by the app)."""
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()


#: The settings the app's middleware reads once, when it is built (the rest is read per
#: request from ``app.state.settings``).
BUILD_SETTINGS = ("max_json_depth", "max_body_bytes")


@pytest.fixture(scope="session")
def _built_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The API built once per worker: building its 200-odd routes costs about half a
    second of CPU, which every API test would otherwise pay. :func:`app` points it at the
    test's store, settings and rules."""
    root = tmp_path_factory.mktemp("api-app")
    engine = create_engine(f"sqlite:///{root / 'store.db'}")
    upgrade(engine)
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{root / 'store.db'}",
        data_dir=root / "data",
        secret_key=SECRET,
    )
    return create_app(settings, engine=engine)


@pytest.fixture
def app(
    _built_app: FastAPI, engine: Engine, connection: Connection, api_settings: Settings
) -> Iterator[FastAPI]:
    """The API on the test's store, settings and rules, every session joining the test's
    connection; its middleware starts afresh (as in a new app) and whatever the test
    changes on the app is undone afterwards."""
    application = _built_app
    built = application.state.settings
    for name in BUILD_SETTINGS:
        assert getattr(api_settings, name) == getattr(built, name), (
            f"api_settings.{name} differs from the built app's: build an app of its own "
            "with create_app for this test"
        )
    api_settings.check_secrets()
    saved = dict(application.state._state)
    routes = list(application.router.routes)
    application.state.settings = api_settings
    application.state.rules = load_rules(api_settings)
    application.state.engine = engine
    application.state.sessions = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    application.middleware_stack = None  # built again on the first request, as in a new app
    try:
        yield application
    finally:
        application.dependency_overrides.clear()
        application.router.routes[:] = routes  # routes a test added go with it
        application.state._state.clear()
        application.state._state.update(saved)
        application.middleware_stack = None


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def not_found(entity: str, record_id: int) -> dict[str, Any]:
    """The 404 body of a missing record (and of one outside the caller's scope)."""
    return {
        "error": {
            "code": "not_found",
            "message": f"no {entity} with id {record_id}",
            "field": "id",
            "value": record_id,
            "hint": None,
        }
    }


def bearer(user: dict[str, Any], settings: Settings) -> dict[str, str]:
    token = create_access_token(user_id=user["id"], role=user["role"], settings=settings)
    return {"Authorization": f"Bearer {token.token}"}


@dataclass
class People:
    """One user per role (two sales users and a manager in team east, others elsewhere)."""

    admin: dict[str, Any]
    manager: dict[str, Any]
    sales: dict[str, Any]
    sales_peer: dict[str, Any]
    sales_west: dict[str, Any]
    service: dict[str, Any]
    analyst: dict[str, Any]
    settings: Settings

    def headers(self, who: str) -> dict[str, str]:
        return bearer(getattr(self, who), self.settings)


ROLES = ("admin", "manager", "sales", "service", "analyst")


@pytest.fixture
def people(db: Session, api_settings: Settings) -> People:
    def make(username: str, role: Role, team: str | None) -> dict[str, Any]:
        return users.create_user(
            session=db, username=username, role=role, team=team, password=PASSWORD
        )

    out = People(
        admin=make("admin", Role.ADMIN, None),
        manager=make("mgr-east", Role.MANAGER, "east"),
        sales=make("li.na", Role.SALES, "east"),
        sales_peer=make("wang.wei", Role.SALES, "east"),
        sales_west=make("chen.jie", Role.SALES, "west"),
        service=make("zhao.min", Role.SERVICE, "support"),
        analyst=make("liu.yang", Role.ANALYST, None),
        settings=api_settings,
    )
    db.commit()
    return out


@dataclass
class Book:
    """Customers with known owners: ``own`` (sales), ``peer`` (sales_peer, same team),
    ``west`` (sales_west, with a ticket assigned to the service user), ``pool`` (no owner)."""

    own: dict[str, Any]
    peer: dict[str, Any]
    west: dict[str, Any]
    pool: dict[str, Any]

    def ids(self) -> dict[str, int]:
        return {k: getattr(self, k)["id"] for k in ("own", "peer", "west", "pool")}


#: Which book customers each role sees.
VISIBLE = {
    "admin": {"own", "peer", "west", "pool"},
    "manager": {"own", "peer", "pool"},
    "sales": {"own"},
    "service": {"west"},
    "analyst": {"own", "peer", "west", "pool"},
}


@pytest.fixture
def book(db: Session, people: People) -> Book:
    def make(external_id: str, owner: dict[str, Any] | None, **values: Any) -> dict[str, Any]:
        return customers.repo.create(
            session=db,
            values={
                "external_id": external_id,
                "owner_id": owner["id"] if owner else None,
                "name": "张伟",
                "phone": "+8613812345678",
                "email": "zhang.wei@example.com",
                "city": "上海市",
                "marketing_consent": True,
                **values,
            },
        )

    out = Book(
        own=make("C-own", people.sales, tags=["vip"]),
        peer=make("C-peer", people.sales_peer, name="王芳", marketing_consent=False),
        west=make("C-west", people.sales_west, name="陈杰", marketing_opt_out=True),
        pool=make("C-pool", None, name="刘洋"),
    )
    tickets.open_ticket(
        session=db,
        sla=SLA,
        values={
            "external_id": "T-west",
            "customer_id": out.west["id"],
            "kind": TicketKind.COMPLAINT,
            "priority": TicketPriority.HIGH,
            "opened_at": T0,
            "assignee_id": people.service["id"],
        },
    )
    db.commit()
    return out
