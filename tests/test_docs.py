"""Every shell example of README.md and docs/*.md runs, in order, as a new user runs them.

The reader's session: a small demo store (`rapport demo --customers 100`) in an empty
directory, as `make demo` leaves one (`./rapport.db`, `.venv` beside it, `rapport` on the
PATH), then the ```bash / ```sh / ```console blocks of README.md and of docs/*.md (in name
order), each run with ``bash -euo pipefail`` in that directory. Shell variables, exports and
the working directory carry over from block to block, as in one terminal (the README's
``PASSWORD`` and ``TOKEN`` are used by later examples), and a server a block starts with
``rapport serve &`` runs until the end.

What the harness changes, and only this:

- host and port: ``127.0.0.1:8000``/``localhost:8000`` become a free port, and
  ``rapport serve`` is given ``--port`` of it;
- standard input is a password the policy accepts (for ``read … PASSWORD``);
- curl fails on an HTTP error (``--fail-with-body --show-error`` in a curlrc), so an
  example answering 400 or 401 fails here instead of printing an error body;
- ``uuidgen`` is provided when the system has none (it is not on every Linux).

A block that cannot run here is skipped by a marker on the line before it, with the
reason: ``<!-- docs-test: skip (installs the project) -->``. Skips are listed in the test
report; a marker without a reason, or one that stands before no shell block, is an error.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^```\s*([\w-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*docs-test:(.*?)-->\s*$")  # alone on its line
SKIP = re.compile(r"^\s*skip\s*\((.+)\)\s*$")
#: A password the policy accepts, typed at the README's `read -rsp … PASSWORD`.
PASSWORD = "blue kettle orbit"
BLOCK_SECONDS = 300
SERVER_SECONDS = 90


@dataclass(frozen=True)
class Block:
    """One fenced shell block of a document."""

    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    skip: str | None  # the reason given by a docs-test: skip marker

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def console_commands(text: str) -> str:
    """The commands of a ```console block: lines after ``$ `` and their continuations."""
    commands: list[str] = []
    continuing = False
    for line in text.splitlines():
        if line.startswith("$ "):
            commands.append(line[2:])
        elif continuing:
            commands.append(line)
        else:
            continue
        continuing = line.endswith("\\")
    return "\n".join(commands)


def extract(path: Path) -> list[Block]:
    """The shell blocks of ``path`` with their skip reasons; malformed markers raise."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: tuple[int, str] | None = None  # (line, reason) of a skip marker
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = MARKER.match(line)
        if marker:
            skip = SKIP.match(marker.group(1))
            if not skip or not skip.group(1).strip():
                raise ValueError(f"{path}:{index + 1}: write <!-- docs-test: skip (reason) -->")
            pending = (index + 1, skip.group(1).strip())
            index += 1
            continue
        fence = FENCE.match(line)
        if not fence:
            if line.strip() and pending:
                raise ValueError(f"{path}:{pending[0]}: a docs-test marker before no shell block")
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        language = fence.group(1)
        body = "\n".join(lines[index + 1 : end])
        if language in SHELL:
            text = console_commands(body) if language == "console" else body
            reason = pending[1] if pending else None
            blocks.append(Block(path, index + 1, language, text, reason))
        elif pending:
            raise ValueError(f"{path}:{pending[0]}: a docs-test marker before a {language} block")
        pending = None
        index = end + 1
    if pending:
        raise ValueError(f"{path}:{pending[0]}: a docs-test marker before no shell block")
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in DOCUMENTS for block in extract(path)]


def localise(text: str, port: int) -> str:
    """The block with the documented address replaced by the test server's."""
    text = re.sub(r"\b(?:127\.0\.0\.1|localhost):8000\b", f"127.0.0.1:{port}", text)
    text = re.sub(r"--port[ =]8000\b", f"--port {port}", text)
    return re.sub(r"\brapport serve\b(?![^\n]*--port)", f"rapport serve --port {port}", text)


def starts_server(text: str) -> bool:
    return re.search(r"\brapport serve\b[^\n#]*&", text) is not None


# Runs before every block: the state of the previous blocks, then `set -euo pipefail`.
PRELUDE = """\
source "$DOCS_TEST_STATE"
set -euo pipefail
"""
# Runs after a block that succeeded: its variables, exports and directory for the next.
EPILOGUE = """
__docs_test_save() {
  local name text flags
  {
    for name in $(compgen -v); do
      case $name in
        __*|BASH*|FUNCNAME|GROUPS|PIPESTATUS|RANDOM|SRANDOM|LINENO|SECONDS|SHLVL|HISTCMD|\\
        EPOCH*|OPTIND|OPTERR|OPTARG|IFS|PPID|UID|EUID|_|DIRSTACK|COMP_*|PS[0-9]|PWD|OLDPWD|\\
        DOCS_TEST_STATE|SHELLOPTS|name|text|flags) continue ;;
      esac
      text=$(declare -p "$name" 2>/dev/null) || continue
      flags=${text#declare -}; flags=${flags%% *}
      [[ $flags == *r* ]] && continue
      printf '%s\\n' "$text"
    done
    printf 'cd %q\\n' "$PWD"
  } > "$DOCS_TEST_STATE.new"
  mv "$DOCS_TEST_STATE.new" "$DOCS_TEST_STATE"
}
__docs_test_save
"""


@dataclass
class Session:
    """The reader's directory, environment and the process group of what blocks start."""

    home: Path
    env: dict[str, str]
    port: int
    group: subprocess.Popen[bytes]

    def run(self, block: Block) -> subprocess.CompletedProcess[str]:
        script = self.home / ".docs-test-block.sh"
        script.write_text(
            PRELUDE + localise(block.text, self.port) + "\n" + EPILOGUE, encoding="utf-8"
        )
        # Each block its own output files: a server a block leaves running keeps writing to
        # that block's.
        name = f"{block.path.stem}-{block.line}"
        out = self.home / f".docs-test-{name}.out"
        err = self.home / f".docs-test-{name}.err"
        with (
            (self.home / ".docs-test.in").open("rb") as stdin,
            out.open("wb") as stdout,
            err.open("wb") as stderr,
        ):
            # Output goes to files, not pipes: a server the block leaves running keeps its
            # output open, and the block is over when bash exits.
            process = subprocess.run(
                ["bash", str(script)],
                cwd=self.home,
                env=self.env,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                timeout=BLOCK_SECONDS,
                process_group=self.group.pid,
                check=False,
            )
        return subprocess.CompletedProcess(
            process.args,
            process.returncode,
            out.read_text(encoding="utf-8", errors="replace"),
            err.read_text(encoding="utf-8", errors="replace"),
        )

    def wait_for_server(self) -> bool:
        deadline = time.monotonic() + SERVER_SECONDS
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return True
            time.sleep(0.2)
        return False


def reader_environment(home: Path) -> dict[str, str]:
    """The environment of a user who ran `make demo` here: defaults, `rapport` on the PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    tools = home / ".docs-test-bin"
    tools.mkdir()
    if shutil.which("uuidgen") is None:
        shim = tools / "uuidgen"
        shim.write_text(f"#!{sys.executable}\nimport uuid\nprint(uuid.uuid4())\n")
        shim.chmod(0o755)
    env["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), str(tools), env.get("PATH", "/usr/bin:/bin")]
    )
    curl_home = home / ".docs-test-curl"
    curl_home.mkdir()
    (curl_home / ".curlrc").write_text("fail-with-body\nshow-error\n", encoding="utf-8")
    env["CURL_HOME"] = str(curl_home)
    env["DOCS_TEST_STATE"] = str(home / ".docs-test-state.sh")
    env["COLUMNS"] = "120"
    env["RAPPORT_DEBUG"] = "0"
    return env


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    home = tmp_path_factory.mktemp("reader")
    (home / ".venv").symlink_to(sys.prefix)
    (home / ".docs-test.in").write_text(f"{PASSWORD}\n", encoding="utf-8")
    env = reader_environment(home)
    Path(env["DOCS_TEST_STATE"]).write_text("", encoding="utf-8")
    demo = subprocess.run(
        ["rapport", "demo", "--customers", "100", "--months", "6"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    # The leader of the process group every block joins, so that whatever they leave
    # running (the README's `rapport serve &`) is stopped with the session.
    group = subprocess.Popen(["sleep", "3600"], process_group=0)
    try:
        yield Session(home=home, env=env, port=free_port(), group=group)
    finally:
        os.killpg(group.pid, signal.SIGTERM)
        group.wait(timeout=30)


def test_markers_are_well_formed_and_each_skip_names_its_reason() -> None:
    blocks = all_blocks()  # raises on a malformed or misplaced marker
    assert any(b.skip is None for b in blocks)
    for block in blocks:
        assert block.skip is None or len(block.skip) > 3, block.where


def test_a_marker_skips_only_the_block_after_it(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "Prose may name `<!-- docs-test: skip (reason) -->` without being a marker.\n\n"
        "<!-- docs-test: skip (installs the project) -->\n```bash\nmake demo\n```\n\n"
        "```bash\nrapport status\n```\n\n```console\n$ rapport --version\nrapport 0.1\n```\n",
        encoding="utf-8",
    )
    blocks = extract(doc)
    assert [(b.skip, b.text) for b in blocks] == [
        ("installs the project", "make demo"),
        (None, "rapport status"),
        (None, "rapport --version"),
    ]
    doc.write_text("<!-- docs-test: skip -->\n```bash\nmake demo\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="reason"):
        extract(doc)
    doc.write_text("<!-- docs-test: skip (x y z) -->\n\ntext\n", encoding="utf-8")
    with pytest.raises(ValueError, match="before no shell block"):
        extract(doc)


def test_localise_points_examples_at_the_test_server() -> None:
    text = "rapport serve &\ncurl -s http://127.0.0.1:8000/api/v1 localhost:8000\n"
    assert localise(text, 5123) == (
        "rapport serve --port 5123 &\ncurl -s http://127.0.0.1:5123/api/v1 127.0.0.1:5123\n"
    )
    assert localise("rapport serve --host 127.0.0.1 --port 8000", 5123).endswith("--port 5123")
    assert starts_server("rapport serve &   # docs at /docs")
    assert not starts_server("rapport serve --host 127.0.0.1 --port 8000")


@pytest.mark.slow
def test_every_shell_example_of_the_docs_runs(session: Session) -> None:
    failures: list[str] = []
    ran = 0
    for block in all_blocks():
        if block.skip:
            print(f"skipped {block.where}: {block.skip}")
            continue
        result = session.run(block)
        ran += 1
        if result.returncode != 0:
            failures.append(
                f"{block.where} exited {result.returncode}\n{block.text}\n"
                f"--- stdout (end)\n{result.stdout[-1500:]}\n--- stderr (end)\n"
                f"{result.stderr[-1500:]}"
            )
        elif starts_server(block.text) and not session.wait_for_server():
            failures.append(f"{block.where}: the server it starts did not answer")
    assert ran > 0
    assert not failures, "\n\n".join(failures)
