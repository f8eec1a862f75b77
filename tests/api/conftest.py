"""An app per test, on SQLite and PostgreSQL (the ``backend`` matrix), with its own
transaction: every session of the app and of the test joins one connection whose outer
transaction is rolled back after the test (SQLite: also a fresh database file per test).

``people`` and ``book`` give every role its users and a customer book with known owners. On
SQLite the test's file is a copy of a store that already holds them, built once per worker
(:class:`SeededStores`); on PostgreSQL they are added in the test's transaction.
"""

from __future__ import annotations

import copy
import datetime as dt
import shutil
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
#: The fields of :class:`People` that are users.
ROLE_FIELDS = ("admin", "manager", "sales", "sales_peer", "sales_west", "service", "analyst")


def add_people(session: Session) -> dict[str, dict[str, Any]]:
    """The users of :class:`People` added through ``session`` (not committed), by field."""

    def make(username: str, role: Role, team: str | None) -> dict[str, Any]:
        return users.create_user(
            session=session, username=username, role=role, team=team, password=PASSWORD
        )

    return {
        "admin": make("admin", Role.ADMIN, None),
        "manager": make("mgr-east", Role.MANAGER, "east"),
        "sales": make("li.na", Role.SALES, "east"),
        "sales_peer": make("wang.wei", Role.SALES, "east"),
        "sales_west": make("chen.jie", Role.SALES, "west"),
        "service": make("zhao.min", Role.SERVICE, "support"),
        "analyst": make("liu.yang", Role.ANALYST, None),
    }


@pytest.fixture
def people(
    db: Session, api_settings: Settings, backend: str, request: pytest.FixtureRequest
) -> People:
    """On SQLite the test's store already holds them (:func:`sqlite_start`); on PostgreSQL
    they are added in the test's transaction."""
    if backend == "sqlite":
        kind = seeded_kind(request)
        assert kind is not None
        rows = request.getfixturevalue("_seeded_stores").get(kind).people
    else:
        rows = add_people(db)
        db.commit()
    return People(**copy.deepcopy(rows), settings=api_settings)


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


def add_book(session: Session, people: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The customers of :class:`Book` and the ticket of ``west`` added through ``session``
    (not committed), owned by ``people`` (the rows of :func:`add_people`)."""

    def make(external_id: str, owner: dict[str, Any] | None, **values: Any) -> dict[str, Any]:
        return customers.repo.create(
            session=session,
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

    out = {
        "own": make("C-own", people["sales"], tags=["vip"]),
        "peer": make("C-peer", people["sales_peer"], name="王芳", marketing_consent=False),
        "west": make("C-west", people["sales_west"], name="陈杰", marketing_opt_out=True),
        "pool": make("C-pool", None, name="刘洋"),
    }
    tickets.open_ticket(
        session=session,
        sla=SLA,
        values={
            "external_id": "T-west",
            "customer_id": out["west"]["id"],
            "kind": TicketKind.COMPLAINT,
            "priority": TicketPriority.HIGH,
            "opened_at": T0,
            "assignee_id": people["service"]["id"],
        },
    )
    return out


@pytest.fixture
def book(db: Session, people: People, backend: str, request: pytest.FixtureRequest) -> Book:
    """On SQLite the test's store already holds it (:func:`sqlite_start`); on PostgreSQL
    it is added in the test's transaction."""
    if backend == "sqlite":
        rows = request.getfixturevalue("_seeded_stores").get("book").book
        assert rows is not None
    else:
        owners = {name: getattr(people, name) for name in ROLE_FIELDS}
        rows = add_book(db, owners)
        db.commit()
    return Book(**copy.deepcopy(rows))


# --- SQLite stores that start with the rows of people and book ---------------------------


@dataclass(frozen=True)
class Seeded:
    """A SQLite store holding the rows of ``people`` and, unless ``book`` is ``None``,
    those of ``book``."""

    path: Path
    people: dict[str, dict[str, Any]]
    book: dict[str, dict[str, Any]] | None


class SeededStores:
    """Copies of the migrated template holding the rows of :func:`add_people` (kind
    ``people``) or of :func:`add_people` and :func:`add_book` (kind ``book``), each built
    once per worker when a test first needs it: adding them costs more than copying a
    file, in each of the API tests. The users' passwords are hashed as in the tests
    (:func:`cheap_hasher`)."""

    def __init__(self, template: Path, root: Path) -> None:
        self.template = template
        self.root = root
        self._built: dict[str, Seeded] = {}

    def _build(self, kind: str) -> Seeded:
        path = self.root / f"{kind}.db"
        shutil.copy(self.template, path)
        engine = create_engine(f"sqlite:///{path}")
        try:
            with pytest.MonkeyPatch.context() as mp, Session(engine) as session:
                mp.setattr(
                    users, "password_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST)
                )
                people = add_people(session)
                book = add_book(session, people) if kind == "book" else None
                session.commit()
        finally:
            engine.dispose()
        return Seeded(path=path, people=people, book=book)

    def get(self, kind: str) -> Seeded:
        if kind not in self._built:
            self._built[kind] = self._build(kind)
        return self._built[kind]


def seeded_kind(request: pytest.FixtureRequest) -> str | None:
    """The seeded store a test starts from on SQLite: ``book`` when it uses :func:`book`,
    ``people`` when it uses :func:`people` only, ``None`` (the empty template) otherwise."""
    names = set(request.fixturenames)
    return "book" if "book" in names else "people" if "people" in names else None


@pytest.fixture(scope="session")
def _seeded_stores(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> SeededStores:
    return SeededStores(_sqlite_template, tmp_path_factory.mktemp("api-seeded"))


@pytest.fixture
def sqlite_start(_sqlite_template: Path, request: pytest.FixtureRequest) -> Path:
    """The store a SQLite API test starts from: the seeded store of :func:`seeded_kind`."""
    kind = seeded_kind(request)
    if kind is None:
        return _sqlite_template
    seeded: SeededStores = request.getfixturevalue("_seeded_stores")
    return seeded.get(kind).path
