"""``rapport models backtest``: every model tested on data it did not see, in one report.

As of ``moment`` with a holdout ``H`` (default 26 weeks):

* **purchase model** — calibrated on the purchases before ``moment - H``, compared with
  the holdout ``[moment - H, moment)`` by calibration-frequency bin and as cumulative
  repeat purchases per week (:mod:`rapport.models.backtest`);
* **spend model** — Gamma-Gamma calibrated on the same period; for the customers who
  bought again in the holdout, their mean holdout purchase value against the model's
  conditional expected spend;
* **churn model** — the time-split backtest of :func:`rapport.models.churn.run_backtest`
  (trained at ``moment - 2h``, tested at ``moment - h`` with labels up to ``moment``), with
  ``p_alive`` from purchase models fitted on the data before each cut-off;
* **demand** — the category forecaster against the seasonal-naive baseline over the last
  ``H`` weeks (:func:`rapport.models.demand.backtest_demand`).

The figures are returned as data (:class:`Evaluation`, :meth:`Evaluation.to_dict`), which
``rapport models backtest`` renders, and, with ``report``, written to one self-contained
HTML file (:func:`rapport.models.report.render_backtest_report`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rapport.config import Rules, Settings
from rapport.errors import FitFailed, ValidationFailed
from rapport.models.notes import Note
from rapport.models.units import Duration

#: The models a backtest can test.
PARTS = ("purchase", "spend", "churn", "demand")
#: Weeks of history the demand backtest reads (its holdout included).
DEMAND_HISTORY_WEEKS = 156


def week_start(moment: dt.datetime, zone: Any) -> dt.datetime:
    """The local Monday 00:00 at or before ``moment`` (naive UTC in and out)."""
    from rapport.analytics.periods import to_local, to_utc

    local = to_local(moment, zone)
    monday = (local - dt.timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return to_utc(monday, zone)


@dataclass
class Evaluation:
    """The backtests' figures (each ``None`` when that model could not be tested)."""

    moment: dt.datetime
    holdout: str
    purchase: dict[str, Any] | None = None
    spend: dict[str, Any] | None = None
    churn: dict[str, Any] | None = None
    demand: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    report_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "moment": self.moment.isoformat(),
            "holdout": self.holdout,
            "purchase": self.purchase,
            "spend": self.spend,
            "churn": self.churn,
            "demand": self.demand,
            "notes": self.notes,
            "report": str(self.report_path) if self.report_path else None,
        }


def _trim_leading_zeros(series: Any) -> Any:
    """The series from its first period with an order: the weeks before the business
    started would read as a season of zeros."""
    import pyarrow.compute as pc

    totals = series.group_by("period_start").aggregate([("orders", "sum")])
    busy = totals.filter(pc.greater(totals.column("orders_sum"), 0))
    if busy.num_rows == 0:
        return series
    first = pc.min(busy.column("period_start"))
    return series.filter(pc.greater_equal(series.column("period_start"), first))


def spend_backtest(spend: Any, summary: Any) -> dict[str, Any]:
    """Mean holdout purchase value vs the conditional expected spend, over the repeat
    buyers of the calibration who bought in the holdout."""
    mask = (summary.frequency > 0) & (summary.holdout_frequency > 0)
    if not mask.any():
        raise ValidationFailed(
            "no repeat buyer bought in the holdout", key="backtest_no_repeat_in_holdout"
        )
    actual = summary.holdout_monetary[mask] / summary.holdout_frequency[mask]
    predicted = spend.conditional_expected_spend(
        summary.frequency[mask], summary.monetary_value[mask]
    )
    weights = summary.holdout_frequency[mask]
    a = float(np.average(actual, weights=weights))
    p = float(np.average(predicted, weights=weights))
    return {
        "customers": int(mask.sum()),
        "actual_mean": a,
        "predicted_mean": p,
        "error_percent": (p - a) / a * 100 if a else 0.0,
        "params": {k: float(v) for k, v in spend.params_.items()},
    }


def run_backtests(
    settings: Settings,
    rules: Rules,
    moment: dt.datetime,
    *,
    holdout: Duration,
    engine: str | None = None,
    report: Path | None = None,
    on_step: Callable[[str], None] | None = None,
    parts: tuple[str, ...] = PARTS,
) -> Evaluation:
    """Backtest the purchase, spend, churn and demand models (``parts``) as of ``moment``."""
    from rapport.analytics.connect import connect
    from rapport.analytics.sources import Sources

    step = on_step or (lambda _s: None)
    if holdout.days < 7:
        raise ValidationFailed(
            "a holdout of {holdout} is too short to test anything",
            field="holdout",
            hint="use at least a few weeks, e.g. 26w",
            key="backtest_holdout_short",
            params={"holdout": holdout},
        )
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ValidationFailed(
            "unknown model to backtest: {part}",
            field="parts",
            value=unknown[0],
            hint="use some of: {parts}",
            key="backtest_part_unknown",
            params={"part": unknown[0], "parts": ", ".join(PARTS)},
        )
    calibration_end = moment - dt.timedelta(days=holdout.days)
    result = Evaluation(moment=moment, holdout=str(holdout))
    with connect(settings, engine=engine) as eng:
        ctx = _Context(
            eng, Sources(eng, rules=rules), settings, rules, moment, calibration_end, holdout
        )
        for part in PARTS:
            if part not in parts:
                continue
            step(f"{part} model")
            try:
                setattr(result, part, TESTS[part](ctx))
            except (FitFailed, ValidationFailed) as exc:
                result.notes.append(Note(part, "tested", exc))
    if report is not None:
        step("report")
        result.report_path = _render(report, result)
    return result


@dataclass
class _Context:
    """What every part of the backtest reads."""

    eng: Any
    src: Any
    settings: Settings
    rules: Rules
    moment: dt.datetime
    calibration_end: dt.datetime
    holdout: Duration

    def summary(self, end: dt.datetime, observation_end: dt.datetime | None = None) -> Any:
        from rapport.models.data import compute_summary

        return compute_summary(
            self.eng.con,
            self.src,
            end,
            zone=self.settings.tz,
            time_unit=self.rules.models.time_unit,
            observation_end=observation_end,
            resolution=self.rules.models.time_resolution,
        )


def _test_purchase(ctx: _Context) -> dict[str, Any]:
    from rapport.models.backtest import purchase_backtest
    from rapport.models.pipeline import _purchase_class

    model, report = purchase_backtest(
        ctx.eng.con,
        ctx.src,
        _purchase_class(ctx.rules),
        zone=ctx.settings.tz,
        calibration_end=ctx.calibration_end,
        observation_end=ctx.moment,
        time_unit=ctx.rules.models.time_unit,
        resolution=ctx.rules.models.time_resolution,
    )
    return {
        "model": model.label,
        **report.to_dict(),
        "holdout_error_percent": report.holdout_error_percent,
    }


def _test_spend(ctx: _Context) -> dict[str, Any]:
    from rapport.models.clv.gammagamma import GammaGammaModel

    summary = ctx.summary(ctx.calibration_end, ctx.moment)
    repeat = summary.repeat_buyers & (summary.monetary_value > 0)
    spend = GammaGammaModel().fit(summary.frequency[repeat], summary.monetary_value[repeat])
    return spend_backtest(spend, summary)


def _test_churn(ctx: _Context) -> dict[str, Any]:
    from rapport.models.churn import run_backtest
    from rapport.models.pipeline import fit_purchase_model, p_alive_table

    def extra(cut_off: dt.datetime) -> Any:
        summary = ctx.summary(cut_off)
        try:
            return p_alive_table(fit_purchase_model(summary, ctx.rules), summary)
        except FitFailed:
            return None

    report = run_backtest(
        ctx.eng,
        ctx.src,
        ctx.moment,
        rules=ctx.rules,
        horizon_days=ctx.rules.models.churn_horizon_days,
        extra=extra,
    )
    return report.to_dict()


def _test_demand(ctx: _Context) -> dict[str, Any]:
    from rapport.analytics.demand import category_demand
    from rapport.models.demand import backtest_demand

    end = week_start(ctx.moment, ctx.settings.tz)
    series = category_demand(
        ctx.src,
        end - dt.timedelta(weeks=DEMAND_HISTORY_WEEKS),
        end,
        granularity="week",
        tz=ctx.settings.tz,
        con=ctx.eng.con,
    )
    weeks = max(1, round(ctx.holdout.to("weeks")))
    return backtest_demand(
        _trim_leading_zeros(series), granularity="week", holdout_periods=weeks
    ).to_dict()


#: Each part of the backtest and the function testing it.
TESTS: dict[str, Callable[[_Context], dict[str, Any]]] = {
    "purchase": _test_purchase,
    "spend": _test_spend,
    "churn": _test_churn,
    "demand": _test_demand,
}


def _render(path: Path, result: Evaluation) -> Path:
    from rapport.models.report import render_backtest_report

    meta: dict[str, Any] = {"as of": result.moment.isoformat(), "holdout": result.holdout}
    if result.purchase:
        meta["purchase model"] = result.purchase["model"]
        meta.update({f"purchase {k}": round(v, 4) for k, v in result.purchase["params"].items()})
    if result.spend:
        meta.update({f"spend {k}": round(v, 4) for k, v in result.spend["params"].items()})
    for note in result.notes:
        meta.setdefault("notes", note)
    churn = None
    if result.churn:
        churn = {
            "model": result.churn["model"],
            "baseline (recency)": result.churn["baseline"],
            "base_rate": result.churn["base_rate"],
            "test_rows": result.churn["test_rows"],
            "lift": result.churn["lift"],
            "calibration": result.churn["calibration"],
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    return render_backtest_report(
        path,
        title="Rapport backtest 模型回测",
        meta=meta,
        frequency_bins=result.purchase["frequency_bins"] if result.purchase else None,
        cumulative=result.purchase["cumulative"] if result.purchase else None,
        churn_metrics=churn,
        demand=result.demand,
    )


__all__ = ["Evaluation", "run_backtests", "spend_backtest"]
