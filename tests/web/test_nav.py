"""The workspace's frame: the menu per role, the landing page per role, and pages that
refuse a role (the forbidden page), over plain HTTP."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from rapport.access import Principal
from rapport.api.app import create_app
from rapport.domain import Role
from rapport.web import i18n, nav, texts
from rapport.web.auth import roles
from tests.web.conftest import PASSWORD, ROLE_USERS, WebStore, csrf_of, http_login


def _client_as(app: object, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture(scope="module")
def guarded_app(web_store: WebStore) -> object:
    """The real application plus one page only admins and managers may open."""
    app = create_app(web_store.settings)

    @app.get("/only-managers")
    def only_managers(
        user: Annotated[Principal, Depends(roles(Role.ADMIN, Role.MANAGER))],
    ) -> PlainTextResponse:
        return PlainTextResponse(f"hello {user.username}")

    return app


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_the_root_sends_each_role_to_its_landing_page(server: str, role: str) -> None:
    client = http_login(server, ROLE_USERS[role])
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == nav.home(Role(role))
    assert client.get(answer.headers["location"]).status_code == 200


def test_the_root_without_a_session_is_the_log_in(server: str) -> None:
    import httpx

    answer = httpx.get(f"{server}/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_the_menu_shows_the_pages_of_the_role_and_only_those(server: str, role: str) -> None:
    client = http_login(server, ROLE_USERS[role])
    html = client.get("/customers").text
    menu = re.search(r"<nav[^>]*>(.*?)</nav>", html, re.S)
    assert menu is not None
    links = re.findall(r'href="([^"]+)"', menu.group(1))
    assert links == [e.path for e in nav.visible(Role(role))]
    assert "/customers" in links
    for entry in nav.entries():
        if Role(role) not in entry.roles:
            assert f'href="{entry.path}"' not in menu.group(1)
    # every menu entry has a name in both languages
    for entry in nav.visible(Role(role)):
        assert all(i18n.text(entry.key, lang) for lang in i18n.LOCALES)


def test_a_page_refuses_the_roles_it_does_not_name(guarded_app: object) -> None:
    manager = _client_as(guarded_app, "lin.hui")
    assert manager.get("/only-managers").text == "hello lin.hui"
    sales = _client_as(guarded_app, "wang.fang")
    refused = sales.get("/only-managers")
    assert refused.status_code == 403
    assert "无权访问" in refused.text and "您的角色不能打开此页面" in refused.text
    # without a session the guard sends to the log-in, not to the forbidden page
    anonymous = TestClient(guarded_app, follow_redirects=False)  # type: ignore[arg-type]
    assert anonymous.get("/only-managers").status_code == 303


def test_menu_entries_know_their_pages_below_them() -> None:
    entry = nav.NavEntry(path="/service", key="nav.customers", order=1)
    assert entry.current("/service") and entry.current("/service/tickets/3")
    assert not entry.current("/services") and not entry.current("/")


def test_no_two_pages_share_a_path_and_every_page_is_served(server: str) -> None:
    paths = [e.path for e in nav.entries()]
    assert len(paths) == len(set(paths))
    client = http_login(server, "admin")
    for entry in nav.entries():
        if Role.ADMIN in entry.roles:
            assert client.get(entry.path, follow_redirects=True).status_code == 200, entry.path


def test_a_text_defined_by_two_pages_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "zz_first_page.py").write_text('MESSAGES = {"zz.shared": ("甲", "A")}\n')
    (tmp_path / "zz_second_page.py").write_text('MESSAGES = {"zz.shared": ("乙", "B")}\n')
    monkeypatch.setattr(texts, "__path__", [*texts.__path__, str(tmp_path)])
    with pytest.raises(RuntimeError, match=r"zz\.shared.*zz_second_page"):
        texts.collect({})
    # and a page text may not redefine one of the frame's
    (tmp_path / "zz_second_page.py").unlink()
    with pytest.raises(RuntimeError, match=r"zz\.shared"):
        texts.collect({"zz.shared": ("丙", "C")})
