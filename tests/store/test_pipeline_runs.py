"""The daily pipeline's record: a step once per day, failed or abandoned steps started
again, the first and latest days recorded — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from rapport.domain import RunStatus
from rapport.store import pipeline_runs

T0 = dt.datetime(2026, 3, 1, 18, 0, tzinfo=dt.UTC)
D1, D2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def test_a_step_runs_once_per_day_and_a_failed_one_starts_again(session: Session) -> None:
    assert pipeline_runs.recorded_days(session=session) == (None, None)
    assert pipeline_runs.start(session=session, day=D1, step="score", at=T0)
    pipeline_runs.finish(session=session, day=D1, step="score", at=T0, summary={"rows": 3})
    assert not pipeline_runs.start(session=session, day=D1, step="score", at=T0)
    assert pipeline_runs.start(session=session, day=D1, step="alerts", at=T0)
    pipeline_runs.finish(
        session=session, day=D1, step="alerts", at=T0, error={"type": "X", "message": "断了"}
    )
    assert pipeline_runs.done_steps(session=session, days=[D1, D2]) == {D1: {"score"}}
    assert pipeline_runs.start(session=session, day=D1, step="alerts", at=T0)  # failed: again
    assert pipeline_runs.start(session=session, day=D1, step="alerts", at=T0)  # left running
    pipeline_runs.beat(session=session, day=D1, step="alerts", at=T0 + dt.timedelta(minutes=1))
    pipeline_runs.start(session=session, day=D2, step="score", at=T0)
    recorded = pipeline_runs.runs(session=session)
    assert [(r.run_date, r.step, r.status) for r in recorded] == [
        (D1, "score", RunStatus.DONE),
        (D1, "alerts", RunStatus.RUNNING),
        (D2, "score", RunStatus.RUNNING),
    ]
    assert recorded[0].summary == {"rows": 3}
    assert recorded[1].error is None and recorded[1].heartbeat_at == T0 + dt.timedelta(minutes=1)
    assert pipeline_runs.recorded_days(session=session) == (D1, D2)
