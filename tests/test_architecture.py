"""The layers of docs/architecture.md hold: no module imports a layer above its own.

The contract is import-linter's, in ``pyproject.toml`` (``[tool.importlinter]``). The second
test proves it can fail: it copies the package, adds modules that import upward, and checks
that ``lint-imports`` names every one of them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(*, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    if pythonpath is not None:  # analyse this copy of the package instead of src/
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,  # the contract: pyproject.toml here
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_no_module_imports_a_layer_above_its_own() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


# module written into the copy → the upward import it makes
UPWARD = {
    "store/upward.py": "rapport.analytics.metrics",
    "analytics/upward.py": "rapport.api.app",
    "models/upward.py": "rapport.cli.common",
    "ingest/upward.py": "rapport.scoring",
    "api/upward.py": "rapport.cli.main",
    "cli/upward.py": "rapport.api.app",  # only cli/serve.py may start the server
    "web/upward.py": "rapport.cli.main",
}


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "rapport"
    shutil.copytree(
        ROOT / "src" / "rapport", copy, ignore=shutil.ignore_patterns("__pycache__", "static")
    )
    (copy / "web").mkdir(exist_ok=True)
    (copy / "web" / "__init__.py").touch()
    for path, target in UPWARD.items():
        (copy / path).write_text(f"import {target}\n", encoding="utf-8")
    # a new top-level module must be given a layer
    (copy / "unplaced.py").write_text('"""Not in any layer."""\n', encoding="utf-8")

    result = lint_imports(pythonpath=tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    for path, target in UPWARD.items():
        module = "rapport." + path.removesuffix(".py").replace("/", ".")
        assert f"{module} -> {target}" in result.stdout, (module, result.stdout)
    assert "rapport.unplaced" in result.stdout, result.stdout
