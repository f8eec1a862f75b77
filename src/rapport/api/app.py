"""The FastAPI application: ``create_app(settings)`` → the API under ``/api/v1``.

OpenAPI at ``/openapi.json``, interactive docs at ``/docs`` (Swagger UI served from the
package, see :mod:`rapport.api.docs`). The application refuses to be built with the default
secret key outside development, or on a store that is not at the current schema version.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy.engine import Engine

from rapport import __version__
from rapport.api import routes
from rapport.api.bodies import JsonBodyGuard
from rapport.api.docs import install_docs
from rapport.api.errors import BodyLimit, install_error_handlers
from rapport.api.idempotency import Idempotency
from rapport.config import Settings, get_settings, load_rules
from rapport.store.db import engine_from_settings, ensure_current, normalize_url, session_factory
from rapport.web.app import install_web

API_PREFIX = "/api/v1"
#: Routers mounted first, in this order; every other module of ``rapport.api.routes``
#: follows in name order. Each route module defines one ``router``.
FIRST_ROUTERS = ("auth", "customers")


#: Connections the server may hold on PostgreSQL: uvicorn runs sync routes on a pool of
#: 40 threads, each of which may hold one.
POSTGRES_POOL = {"pool_size": 20, "max_overflow": 20, "pool_timeout": 10}


def pool_options(settings: Settings) -> dict[str, int]:
    """Engine pool options for the server (SQLite opens a connection per use)."""
    backend = normalize_url(settings.database_url).get_backend_name()
    return dict(POSTGRES_POOL) if backend == "postgresql" else {}


def route_modules() -> list[str]:
    """The modules of :mod:`rapport.api.routes`, each holding one ``router``."""
    names = sorted(m.name for m in pkgutil.iter_modules(routes.__path__) if not m.ispkg)
    first = [n for n in FIRST_ROUTERS if n in names]
    return first + [n for n in names if n not in first]


DESCRIPTION = """\
Customer data in, customer intelligence out.

Authenticate with `POST /api/v1/auth/login` (a bearer token valid for 30 minutes by
default) or with an API token (`rpt_…`, issued by `rapport users token`), sent as
`Authorization: Bearer <token>`. What you may see depends on your role; personal data is
masked for analysts; every write and every read of unmasked personal data is audited.
Errors have one shape: `{"error": {"code", "message", "field", "value", "hint"}}`.
"""


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the API on the store of ``settings`` (or ``engine``).

    Raises
    ------
    ConfigError
        Outside development, when the secret key is the default or too short; when the
        business rules file is invalid (rules are read once, at start).
    StoreUnavailable
        When the store cannot be reached or is not at the current schema version.
    """
    settings = settings or get_settings()
    settings.check_secrets()
    rules = load_rules(settings)
    owns_engine = engine is None
    engine = engine or engine_from_settings(settings, **pool_options(settings))
    ensure_current(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_engine:
            engine.dispose()

    app = FastAPI(
        title="Rapport API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # served from the package by install_docs, not from a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    install_docs(app)
    app.state.settings = settings
    app.state.rules = rules
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    install_error_handlers(app)
    app.add_middleware(Idempotency)  # inside BodyLimit: a retry is held to the same limit
    # JSON bodies too deep or not valid Unicode: 422 before anything parses them
    app.add_middleware(JsonBodyGuard, max_depth=settings.max_json_depth)
    app.add_middleware(BodyLimit, max_body_bytes=settings.max_body_bytes)
    api = APIRouter(prefix=API_PREFIX)
    for name in route_modules():
        module = importlib.import_module(f"{routes.__name__}.{name}")
        api.include_router(module.router)
    app.include_router(api)
    install_web(app)  # the web workspace at / (rapport.web)
    return app
