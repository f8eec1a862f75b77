"""The workspace's navigation: which pages there are, who may open each, and where each role
lands after logging in.

A page module declares its entry as ``NAV = NavEntry(...)`` next to its ``router``: the
customers page in :mod:`rapport.web.pages`, every other page in a module of the
:mod:`rapport.web.views` package (found by :func:`page_modules`, so adding a page is adding a
module). The header shows the entries of the user's role in ``order``; a page also refuses
the other roles itself (:func:`rapport.web.auth.roles`), the menu is not the guard.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType

from rapport.domain import Role

ALL_ROLES = frozenset(Role)
#: Where a role lands when no page names it as home.
FALLBACK_HOME = "/customers"


@dataclass(frozen=True)
class NavEntry:
    """One page of the menu: its path, the text key of its name, the roles that may open
    it, its place in the menu, and the roles for which it is the landing page."""

    path: str
    key: str
    order: int
    roles: frozenset[Role] = ALL_ROLES
    home_of: frozenset[Role] = frozenset()

    def current(self, path: str) -> bool:
        """Whether the request's ``path`` is this page or below it."""
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")


@functools.cache
def page_modules() -> tuple[ModuleType, ...]:
    """The customers page and every module of :mod:`rapport.web.views`, imported."""
    from rapport.web import pages, views

    found = [pages]
    for info in sorted(pkgutil.iter_modules(views.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            found.append(importlib.import_module(f"{views.__name__}.{info.name}"))
    return tuple(found)


@functools.cache
def entries() -> tuple[NavEntry, ...]:
    """Every page's entry, in menu order; two pages may not share a path."""
    found = [m.NAV for m in page_modules() if getattr(m, "NAV", None) is not None]
    paths = [e.path for e in found]
    if len(paths) != len(set(paths)):
        raise RuntimeError(f"two web pages share a path: {sorted(paths)}")
    return tuple(sorted(found, key=lambda e: (e.order, e.path)))


def visible(role: Role) -> list[NavEntry]:
    """The entries ``role`` may open, in menu order."""
    return [e for e in entries() if role in e.roles]


def home(role: Role) -> str:
    """The page ``role`` lands on: the first entry naming it as home, else the customers."""
    for entry in entries():
        if role in entry.home_of and role in entry.roles:
            return entry.path
    return FALLBACK_HOME
