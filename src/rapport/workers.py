"""Where a server runs the analytics engine: worker processes, never its own.

The metrics and the analyses over a period (:func:`rapport.analytics.metrics.evaluate`,
:mod:`rapport.analyses`) read the store through DuckDB attached to it
(:mod:`rapport.analytics.connect`). On a SQLite store, DuckDB's own copy of SQLite must
never open the WAL file that the server's own SQLite connections hold open in the same
process: the two copies do not share their locks, and when one closes the file it can
truncate the shared-memory file that the other still has mapped — a SIGBUS that kills the
server. So the server never attaches DuckDB: every such request runs in a worker process
(a small pool, started on first use with ``spawn``, never forked from the server's open
connections), which attaches the store read-only, computes, detaches and sends back plain
rows. The same path serves PostgreSQL stores, where it also keeps a heavy query's memory
and CPU away from the request threads and bounds how many run at once (:data:`WORKERS`;
further requests queue). A worker sees what is committed in the store.

(The reports on stored score snapshots need no analytics engine: they run in the request's
own session, :mod:`rapport.reports.snapshots`.)

The API (:mod:`rapport.api.workers`) and the web workspace share this one pool: a server
process has at most :data:`WORKERS` workers, whichever adapter asks.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from rapport.config import Settings
from rapport.errors import RapportError, StoreUnavailable, ValidationFailed

#: Worker processes computing analytics (requests beyond them queue).
WORKERS = 2
#: Seconds a request waits for its result before it gets 503.
TIMEOUT_SECONDS = 300.0
#: How often a worker checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 1.0

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ProcessPoolExecutor:
    """The process's pool of workers, started on first use (``spawn``: a worker never
    inherits the server's open store connections)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_leave_with_parent,
                initargs=(os.getpid(),),
            )
        return _pool


def _leave_with_parent(parent: int) -> None:
    """Run in each worker as it starts: a thread that ends the worker once ``parent`` (the
    server) is gone. A server that exits normally stops its workers itself; one that is
    killed (``kill -9``, the out-of-memory killer) cannot, and its workers would otherwise
    wait for work forever, each holding its memory: their queue's pipe is held open by
    every worker, so none of them ever reads its end."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="rapport-parent-watch", daemon=True).start()


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown_workers() -> None:
    """Stop the workers (the next request starts new ones)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def store_settings(settings: Settings, engine: Any) -> Settings:
    """``settings`` pointing at the store ``engine`` serves (a server's engine may have been
    given apart from the settings): what a worker connects to."""
    url = engine.url.render_as_string(hide_password=False)
    return settings.model_copy(update={"database_url": url})


def _in_worker(work: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """``work(*args)`` in a worker: ``("ok", result)`` or ``("error", details)`` (domain
    errors travel as plain values: their keyword arguments do not pickle; their key and
    parameters travel too, so that the error keeps its words in Chinese)."""
    try:
        return "ok", work(*args)
    except RapportError as exc:
        keyed = (exc.key, exc.params, exc.hint_key)
        try:
            pickle.dumps(keyed)
        except Exception:  # a parameter that does not pickle: the English words travel alone
            keyed = (None, {}, None)
        return "error", (type(exc).__name__, exc.message, exc.field, exc.hint, *keyed)


def _verbatim(text: str | None, key: str | None) -> str | None:
    """``text`` as the template of a keyed error that is already filled in."""
    if key is None or text is None:
        return text
    return text.replace("{", "{{").replace("}", "}}")


def run_in_worker(
    work: Callable[..., Any],
    *args: Any,
    what: str,
    hint: str,
    timeout: float = TIMEOUT_SECONDS,
) -> Any:
    """The result of ``work(*args)`` (a module-level function, its arguments picklable) run
    in a worker process, waiting at most ``timeout`` seconds.

    Raises
    ------
    ValidationFailed
        When ``work`` refuses its input.
    StoreUnavailable
        When it takes longer than ``timeout`` (``what`` names it, ``hint``
        says how to ask for less), when the worker dies, or for any other domain error.
    """
    pool = _executor()
    try:
        future = pool.submit(_in_worker, work, *args)
        status, result = future.result(timeout=timeout)
    except FutureTimeout as exc:
        future.cancel()
        raise StoreUnavailable(
            "the {what} took longer than {timeout:g} s",
            hint="{advice}",
            key="worker_timeout",
            params={"what": what, "timeout": timeout, "advice": hint},
            hint_key="value_refused.hint",
        ) from exc
    except BrokenProcessPool as exc:
        _discard(pool)
        raise StoreUnavailable(
            "the {what} worker stopped unexpectedly",
            hint="retry; a new worker starts",
            key="worker_stopped",
            params={"what": what},
        ) from exc
    return _returned(status, result)


def _returned(status: str, result: Any) -> Any:
    """What :func:`_in_worker` sent: the result, or the domain error raised again."""
    if status == "error":
        name, message, field, hint_, key, params, hint_key = result
        if name == "ValidationFailed":
            raise ValidationFailed(
                _verbatim(message, key) or "",
                field=field,
                hint=_verbatim(hint_, key),
                key=key,
                params=params,
                hint_key=hint_key,
            )
        raise StoreUnavailable(
            _verbatim(f"{name}: {message}", key) or "",
            field=field,
            hint=_verbatim(hint_, key),
            key=key,
            params=params,
            hint_key=hint_key,
        )
    return result


def _send(send: Connection, parent: int, work: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Run in a :class:`Beside` process: ``work(*args)`` as :func:`_in_worker` gives it,
    sent back on ``send``; the process ends with ``parent``."""
    _leave_with_parent(parent)
    try:
        send.send(_in_worker(work, *args))
    finally:
        send.close()


class Beside:
    """``work(*args)`` (a module-level function, its arguments picklable) run in a process
    of its own while the caller goes on, for one result: started with ``spawn`` (never
    forked from the caller's threads and open connections), it ends with the caller, and
    leaving the ``with`` block stops it if it still runs (the caller failed meanwhile).

    Unlike the server's pool (:func:`run_in_worker`) it is the caller's alone: a command
    that has work for another core while it writes (the scoring run's metrics) starts it,
    and nothing of it stays once the result is in.
    """

    def __init__(self, work: Callable[..., Any], *args: Any, what: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.what = what
        self._received, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_send,
            args=(send, os.getpid(), work, args),
            name=f"rapport-{what}".replace(" ", "-"),
            daemon=True,
        )
        self._process.start()
        send.close()  # the process holds its own end: its exit ends what can be received

    def result(self) -> Any:
        """The result, once the process has sent it.

        Raises
        ------
        ValidationFailed
            When ``work`` refuses its input.
        StoreUnavailable
            When the process stopped without a result, or for another domain error.
        """
        try:
            status, result = self._received.recv()
        except EOFError as exc:
            self._process.join()
            raise StoreUnavailable(
                "the {what} worker stopped unexpectedly (exit code {code})",
                hint="see the messages above; the run goes on without it",
                key="worker_exited",
                params={"what": self.what, "code": self._process.exitcode},
            ) from exc
        self._process.join()
        return _returned(status, result)

    def __enter__(self) -> Beside:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._received.close()
