"""Who of a playbook's triggered customers may be enrolled, and when messages may leave.

:func:`screen` applies the rules that hold before the holdout is drawn — consent (the
store's marketable rule) for a playbook that messages, an address for each message's
channel, the cooldown and re-enrolment rule — and counts what each rule left out;
:class:`Caps` the frequency caps per customer and channel (the outbox's messages of each
cap's window plus the run's own); :func:`send_moment` the day's send time moved past the
quiet hours. The engine (:mod:`rapport.actions.engine`) and the next best action
(:mod:`rapport.actions.next_best`) share them.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy.orm import Session

from rapport.actions.definitions import RECIPIENTS
from rapport.actions.playbooks import Playbook
from rapport.config import Rules
from rapport.domain import MessageChannel
from rapport.store import enrolments

#: Why an eligible-looking customer was not enrolled (keys of ``PlaybookFigures.skipped``).
SKIP_REASONS = ("consent", "no_address", "cooldown", "cap")


def screen(
    playbook: Playbook,
    playbook_id: int | None,
    df: pl.DataFrame,
    *,
    session: Session,
    day: dt.date,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """The customers of ``df`` eligible for ``playbook`` before the frequency caps: consent
    when it needs it, an address for each message's channel, the cooldown and re-enrolment
    rule. Returns them and how many each rule left out."""
    skipped = dict.fromkeys(SKIP_REASONS, 0)

    def keep(frame: pl.DataFrame, mask: pl.Expr, reason: str) -> pl.DataFrame:
        kept = frame.filter(mask)
        skipped[reason] += frame.height - kept.height
        return kept

    if playbook.needs_marketing_consent:
        df = keep(df, pl.col("marketable"), "consent")
    for action in playbook.actions:
        if action["kind"] == "message":
            column = pl.col(RECIPIENTS[action["channel"]])
            df = keep(df, column.is_not_null() & (column.str.strip_chars() != ""), "no_address")
    rule, cooldown = playbook.eligibility["reenrol"], playbook.eligibility["cooldown_days"]
    if playbook_id is not None and df.height and (rule == "never" or cooldown):
        last = pl.DataFrame(
            enrolments.last_run_dates(session=session, playbook_id=playbook_id),
            schema={"customer_id": pl.Int64, "last_run": pl.Date},
            orient="row",
        )
        df = df.join(last, on="customer_id", how="left")
        if rule == "never":
            df = keep(df, pl.col("last_run").is_null(), "cooldown")
        else:
            since = (pl.lit(day) - pl.col("last_run")).dt.total_days()
            df = keep(df, pl.col("last_run").is_null() | (since >= cooldown), "cooldown")
        df = df.drop("last_run")
    return df, skipped


def send_moment(rules: Rules, day: dt.date, tz: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """When the day's messages are due: ``send_time`` on the day (or now, if later), moved
    to the end of the quiet hours when it falls inside them."""
    config = rules.playbooks

    def clock(text: str) -> dt.time:
        hour, minute = text.split(":")
        return dt.time(int(hour), int(minute))

    due = max(dt.datetime.combine(day, clock(config.send_time), tz), now.astimezone(tz))
    start, end = clock(config.quiet_hours_start), clock(config.quiet_hours_end)
    at = due.timetz().replace(tzinfo=None)
    quiet = (start <= at or at < end) if start > end else (start <= at < end)
    if start != end and quiet:
        next_day = due.date() + dt.timedelta(days=1) if start > end and at >= start else due.date()
        due = dt.datetime.combine(next_day, end, tz)
    return due.astimezone(dt.UTC)


class Caps:
    """Messages per customer and channel: the outbox's, within each cap's window, plus this
    run's own."""

    def __init__(self, session: Session, rules: Rules, day_start: dt.datetime) -> None:
        self.session, self.day_start = session, day_start
        self.global_caps = [(c.channel.value, c.max, c.days) for c in rules.playbooks.caps]
        self._counts: dict[tuple[str, int], pl.DataFrame] = {}
        self.sent: dict[str, list[int]] = {}

    def _stored(self, channel: str, days: int) -> pl.DataFrame:
        if (channel, days) not in self._counts:
            since = self.day_start - dt.timedelta(days=days - 1)
            rows = enrolments.messages_since(
                session=self.session, channel=MessageChannel(channel), since=since
            )
            self._counts[channel, days] = pl.DataFrame(
                rows, schema={"customer_id": pl.Int64, "n": pl.Int64}, orient="row"
            )
        return self._counts[channel, days]

    def within(self, df: pl.DataFrame, playbook: Playbook) -> pl.Series:
        """Whether each customer of ``df`` may get one more message of every channel the
        playbook sends."""
        ok = pl.Series([True] * df.height)
        channels = {a["channel"] for a in playbook.actions if a["kind"] == "message"}
        own = [(c["channel"], c["max"], c["days"]) for c in playbook.eligibility["caps"]]
        for channel, most, days in [*self.global_caps, *own]:
            if channel not in channels:
                continue
            run = pl.DataFrame(
                {"customer_id": self.sent.get(channel, [])}, schema={"customer_id": pl.Int64}
            )
            counts = pl.concat(
                [self._stored(channel, days), run.with_columns(n=pl.lit(1, pl.Int64))]
            )
            total = counts.group_by("customer_id").agg(pl.col("n").sum())
            joined = df.select("customer_id").join(
                total, on="customer_id", how="left", maintain_order="left"
            )  # row for row with ``df`` (its ids are unique)
            ok = ok & (joined["n"].fill_null(0) + 1 <= most)
        return ok

    def add(self, channel: str, customer_ids: list[int]) -> None:
        self.sent.setdefault(channel, []).extend(customer_ids)
