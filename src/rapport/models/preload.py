"""The model stack imported on a thread of its own while the store is read.

Importing scikit-learn and SciPy costs about a second of one core (scikit-learn's import
brings ``scipy.stats`` and pandas with it), paid once per process, and the scoring
pipeline needs them only after it has copied the store (:mod:`rapport.analytics.working_copy`)
— work DuckDB does in its own threads with Python's interpreter lock released. :func:`start`
imports them meanwhile on a daemon thread, :func:`wait` joins it before the models are
fitted, so the import overlaps the copy instead of following it: wall time on an idle
core, the same CPU time either way.

Only third-party modules are imported here (never ``rapport`` or Ibis, which the reading
thread imports), so the two threads never wait on each other's modules in a cycle; a
module that fails to import is left for the fitting code to import, and report, itself.
"""

from __future__ import annotations

import importlib
import threading

#: What fitting the purchase, spend and churn models imports, heaviest first.
MODULES = ("sklearn.linear_model", "sklearn.model_selection", "scipy.stats", "scipy.optimize")


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:  # reported by the code that needs it, when it imports it
            return


def start(modules: tuple[str, ...] = MODULES) -> threading.Thread:
    """Start importing ``modules`` on a daemon thread; returns the thread for :func:`wait`."""
    thread = threading.Thread(
        target=_import_all, args=(modules,), name="rapport-model-imports", daemon=True
    )
    thread.start()
    return thread


def wait(thread: threading.Thread | None) -> None:
    """Wait until the imports :func:`start` began are done (nothing for ``None``)."""
    if thread is not None:
        thread.join()


__all__ = ["MODULES", "start", "wait"]
