"""The model stack's background import: on its own thread, finished when waited for, and
quiet about a module it cannot import (the code that needs it reports that)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import uuid

import pytest

from rapport.models import preload


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """Names of fresh modules under ``tmp_path`` that record the thread importing them."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names = []
    for _ in range(2):
        name = f"preload_probe_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(
            "import threading, time\ntime.sleep(0.05)\nTHREAD = threading.current_thread().name\n"
        )
        names.append(name)
    importlib.invalidate_caches()
    yield names
    for name in names:
        sys.modules.pop(name, None)


def test_the_modules_are_imported_on_a_thread_of_their_own(modules) -> None:
    thread = preload.start(tuple(modules))
    preload.wait(thread)
    assert not thread.is_alive()
    for name in modules:
        assert sys.modules[name].THREAD == "rapport-model-imports"
    assert thread is not threading.current_thread()


def test_an_import_of_the_same_module_meanwhile_gets_the_whole_module(modules) -> None:
    thread = preload.start(tuple(modules))
    module = importlib.import_module(modules[0])  # waits for the thread's import if begun
    assert module.THREAD in ("rapport-model-imports", threading.current_thread().name)
    preload.wait(thread)


def test_a_module_that_cannot_be_imported_stops_the_thread_quietly(modules) -> None:
    missing = f"no_such_module_{uuid.uuid4().hex[:8]}"
    thread = preload.start((missing, modules[0]))
    preload.wait(thread)
    assert modules[0] not in sys.modules  # left for the code that needs it
    assert missing not in sys.modules


def test_waiting_for_nothing_returns_at_once() -> None:
    preload.wait(None)


def test_the_scoring_modules_are_the_ones_the_fits_import() -> None:
    for name in preload.MODULES:
        assert importlib.util.find_spec(name) is not None, name
