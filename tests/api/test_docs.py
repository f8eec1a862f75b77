"""``/docs`` works offline: Swagger UI's page references only assets the server itself serves
from the package, and those assets are in the wheel."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from fastapi.testclient import TestClient

import rapport
from rapport.api import docs

EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl:\s*'([^']+)'""")


def page_urls(html: str) -> list[str]:
    return [a or b for a, b in URL.findall(html)]


def test_docs_page_references_only_local_urls(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    urls = page_urls(html)
    assert len(urls) >= 4  # stylesheet, favicon, script, OpenAPI document
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "cdn" not in html.lower()
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE)
    # Swagger UI's validator badge would call an outside server: it is switched off.
    assert '"validatorUrl": null' in html


def test_docs_assets_are_served_with_their_content_type(client: TestClient) -> None:
    assets = [
        url for url in page_urls(client.get("/docs").text) if url.startswith(docs.ASSETS_PATH)
    ]
    assert {Path(url).suffix for url in assets} == set(EXPECTED_TYPES)
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        assert EXPECTED_TYPES[Path(url).suffix] in response.headers["content-type"], url
        assert response.content == (docs.ASSETS_DIR / Path(url).name).read_bytes()


def test_docs_page_loads_the_apps_openapi_document(client: TestClient) -> None:
    (openapi,) = [url for url in page_urls(client.get("/docs").text) if "openapi" in url]
    response = client.get(openapi)
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Rapport API"


def test_the_oauth2_redirect_page_is_local_and_redoc_is_not_offered(client: TestClient) -> None:
    redirect = client.get(docs.OAUTH2_REDIRECT_PATH)
    assert redirect.status_code == 200
    assert not re.search(r"https?://", redirect.text)
    assert client.get("/redoc").status_code == 404


def test_the_vendored_swagger_ui_keeps_its_licence_and_version() -> None:
    licence = (docs.ASSETS_DIR / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence
    assert (docs.ASSETS_DIR / "NOTICE").exists()
    assert f"swagger-ui-dist` {docs.SWAGGER_UI_VERSION}" in (
        docs.ASSETS_DIR / "README.md"
    ).read_text(encoding="utf-8")


def test_the_assets_are_package_data() -> None:
    # Installed wheels and sdists carry what pyproject's package-data names.
    pyproject = Path(rapport.__file__).parents[2] / "pyproject.toml"
    patterns = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["rapport"]
    package = Path(rapport.__file__).parent
    for path in docs.ASSETS_DIR.iterdir():
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative
