"""``rapport worker``: the daily pipeline when it is due, and the outbox between runs.

:func:`work` loops until told to stop: every ``[messages] poll_seconds`` it sends the due
messages (:func:`rapport.actions.delivery.deliver`), and when a day's run is due and not
done (:func:`rapport.actions.scheduler.due_days`) it runs the pipeline
(:func:`rapport.actions.scheduler.run_pipeline`). A run that failed is tried again after
``[schedule] retry_minutes``; while another process holds the pipeline's lease this one
only sends messages. Any error of a pass is reported and the loop goes on.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

from rapport.actions.delivery import deliver
from rapport.actions.scheduler import due_days, run_pipeline
from rapport.config import Settings, get_settings, load_rules

#: ``report(kind, what)``: ``pipeline`` (a :class:`~rapport.actions.scheduler.PipelineRun`),
#: ``messages`` (a :class:`~rapport.actions.delivery.DeliveryRun` that claimed any),
#: ``error`` (the exception a pass raised).
Report = Callable[[str, Any], None]


def work(
    settings: Settings | None = None,
    *,
    stop: threading.Event,
    report: Report,
    catch_up_days: int | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> None:
    """Run the worker's loop until ``stop`` is set (a signal handler, the server's
    shutdown). ``now`` is the clock that decides which days are due (tests)."""
    settings = settings or get_settings()
    rules = load_rules(settings)
    retry_after = 0.0
    while not stop.is_set():
        try:
            moment = now() if now is not None else None
            if time.monotonic() >= retry_after and due_days(settings, now=moment):
                run = run_pipeline(settings, catch_up_days=catch_up_days, now=moment)
                report("pipeline", run)
                if run.ran and not run.ok:
                    retry_after = time.monotonic() + rules.schedule.retry_minutes * 60
            sent = deliver(settings)
            if sent.claimed:
                report("messages", sent)
        except Exception as exc:  # the loop outlives a failed pass (a store restart)
            report("error", exc)
        stop.wait(rules.messages.poll_seconds)
