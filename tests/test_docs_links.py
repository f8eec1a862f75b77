"""The docs stand on their own and are complete.

- Every relative link of README.md and docs/*.md resolves to a file inside the repository
  (and to a heading of it, when it names one); none leaves the repository.
- Every path of docs/architecture.md's "concept → module" table exists.
- Every command of ``rapport`` and every route under ``/api/v1`` appears in the docs.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import typer

from rapport.api.app import API_PREFIX, create_app
from rapport.cli import main as cli_main
from rapport.cli.lazy import LazyGroup, load_command
from rapport.store.db import create_engine

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # https:, mailto:, file: …
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def prose(path: Path) -> str:
    """The document without its fenced code blocks (a link in code is not a link)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def links(text: str) -> list[str]:
    return LINK.findall(text) + REFERENCE.findall(text)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces → '-'."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    kept = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in ("L", "N", "M"))
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose(path), re.MULTILINE)}


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    """The links of ``document`` that leave ``root``, name no file, or no heading of it."""
    broken = []
    for target in links(prose(document)):
        if EXTERNAL.match(target):
            if target.lower().startswith("file:"):
                broken.append(f"{target}: a file on one machine")
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (document.parent / path_part).resolve() if path_part else document
        if not resolved.is_relative_to(root) or path_part.startswith("/"):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    broken = broken_links(document)
    assert not broken, f"{document.name}: " + "; ".join(broken)


def test_the_link_check_catches_what_it_should(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "METRICS.md").write_text("# Metrics\n", encoding="utf-8")
    (repo / "docs" / "api.md").write_text("# API\n\n## Idempotent writes: `Idempotency-Key`\n")
    page = repo / "docs" / "page.md"
    page.write_text(
        "# Page\n\n"
        "[outside](../../shared/METRICS.md) [absolute](/etc/hosts) [gone](missing.md) "
        "[file](file:///work/shared/DESIGN.md) [no heading](api.md#nothing)\n\n"
        "[fine](api.md#idempotent-writes-idempotency-key) [web](https://example.com) "
        "[here](#page)\n\n"
        "```markdown\n[in code](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page, root=repo) == [
        "../../shared/METRICS.md: outside the repository",
        "/etc/hosts: outside the repository",
        "missing.md: no such file",
        "file:///work/shared/DESIGN.md: a file on one machine",
        "api.md#nothing: no heading #nothing in api.md",
    ]
    assert slug("CLV models, 1,000,000 simulated customers") == (
        "clv-models-1000000-simulated-customers"
    )


def test_the_architecture_table_names_modules_that_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Concept → module", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    named = set(re.findall(r"`([\w./<>-]+(?:\.py|\.toml|/))`", table))
    assert len(named) > 40
    missing = sorted(
        name for name in named if "<" not in name and not (ROOT / "src" / "rapport" / name).exists()
    )
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def documentation() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in DOCUMENTS)


def cli_commands() -> list[str]:
    """Every command of ``rapport``, sub-commands by their full path (``users add``)."""

    def walk(command: object, prefix: tuple[str, ...]) -> list[str]:
        if not isinstance(command, typer.core.TyperGroup):
            return [" ".join(prefix)]
        found = []
        for name in command.list_commands(None):  # type: ignore[arg-type]
            if isinstance(command, LazyGroup):
                sub = load_command(command, name)
            else:
                sub = command.commands[name]
            if not sub.hidden:
                found += walk(sub, (*prefix, name))
        return found

    return walk(typer.main.get_command(cli_main.app), ())


def test_every_cli_command_is_documented() -> None:
    commands = cli_commands()
    assert {"init", "import", "users add", "models fit", "config show"} <= set(commands)
    text = documentation()
    missing = [c for c in commands if not re.search(rf"`rapport {re.escape(c)}[`\s]", text)]
    assert not missing, f"commands no page of docs/ or the README names: {missing}"


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)  # {customer_id} and the docs' {id} alike


def test_every_api_route_is_documented(_sqlite_template: Path) -> None:
    engine = create_engine(f"sqlite:///{_sqlite_template}")
    try:
        paths = create_app(engine=engine).openapi()["paths"]
    finally:
        engine.dispose()
    routes = [
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method.upper() in METHODS and path.startswith(API_PREFIX)
    ]
    assert len(routes) > 50
    pattern = rf"\b({'|'.join(METHODS)}) ({re.escape(API_PREFIX)}/[^\s`?),]*)"
    documented = {(m, normalise(p)) for m, p in re.findall(pattern, documentation())}
    missing = [f"{m} {p}" for m, p in routes if (m, normalise(p)) not in documented]
    assert not missing, f"routes no page of docs/ or the README names: {missing}"
