"""The scoring pipeline: as of a date, compute every per-customer score and store a snapshot.

:func:`score` runs :func:`rapport.analytics.scores.customer_scores` in one engine run
(DuckDB attached to the store by default), turns each customer's inputs and reasons into
the row's ``components`` document, and replaces the snapshot of that date in
``customer_scores`` atomically — earlier dates stay, so the history is kept.

The snapshot of a date ``D`` describes the customers at the end of ``D`` in the business
time zone: everything before the next local midnight counts.

The scores are computed here; checking and writing them is the store's
(:func:`rapport.store.scores.replace_snapshot`): the whole table is checked at once against
the column rules the store applies to one row (:mod:`rapport.store.rules`), then written by
the store's bulk writer — one prepared statement per batch on SQLite, ``COPY`` on
PostgreSQL — in the same transaction as the deletion of the date's previous rows.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import functools
import logging
import os
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.engine import Engine

from rapport.analytics.periods import day_end
from rapport.config import Rules, Settings, get_settings, load_rules
from rapport.errors import RapportError
from rapport.models.data import ascending, rows_by_key
from rapport.store import components as stored_components
from rapport.store import scores as scores_store
from rapport.store.db import (
    begin_writer,
    checkpoint_beside,
    engine_from_settings,
    ensure_current,
    session_factory,
    session_scope,
    sqlite_bulk_write,
)
from rapport.store.repository import utcnow
from rapport.workers import Beside

if TYPE_CHECKING:
    from rapport.reports.mirror import Mirror

T = TypeVar("T")

log = logging.getLogger(__name__)

#: Customers from which the overview's metrics are computed in a process of their own
#: beside the snapshot's write (:func:`metrics_apart`). At 100,000 customers a run takes
#: as long either way (the process's 3.1–3.2 s, its start included, against 2.4 s for the
#: metrics in the run, beside a write of 2.2–2.7 s); at 1,000,000 about 2–4 s less, runs
#: before and after the change alternated (docs/benchmarks.md).
METRICS_APART_CUSTOMERS = 200_000
#: DuckDB's threads in that process: one, beside the writer's.
METRICS_APART_THREADS = 1
#: DuckDB's memory limit in that process, unless one is configured: at 1,000,000 customers
#: the metrics take as long with 256 MB as with 512 MB (10.0–10.4 s alone), and the process
#: peaks at 580 MB instead of 810 MB (1.3 s more and 460 MB with 128 MB).
METRICS_APART_MEMORY = "256MB"
#: Its scheduling priority below the run's (``os.nice``): the writer and the thread making
#: its parts go first, the metrics take what they leave.
METRICS_APART_NICE = 5

#: Threads preparing the pages' reports after the snapshot (their reads of the store run
#: side by side: at 1,000,000 customers, one thread took 184 s).
PREPARE_THREADS = 2

#: Rows of the scores fetched from the engine at a time (:func:`compute`).
SCORES_BATCH_ROWS = 100_000

#: Each group of the ``components`` document: its key, the score it explains and its
#: inputs as ``(key in the document, column of customer_scores())``.
COMPONENT_GROUPS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "satisfaction",
        "satisfaction",
        (
            ("answers", "sat_answers"),
            ("ticket_ratings", "sat_ticket_ratings"),
            ("complaints", "sat_complaints"),
            ("evidence_weight", "sat_weight"),
        ),
    ),
    (
        "loyalty",
        "loyalty",
        (
            ("repeat", "loy_repeat"),
            ("recency", "loy_recency"),
            ("tenure", "loy_tenure"),
            ("membership", "loy_membership"),
        ),
    ),
    (
        "engagement",
        "engagement",
        (
            ("events", "eng_events"),
            ("interactions", "eng_interactions"),
            ("weighted_actions", "eng_weighted"),
        ),
    ),
    (
        "advocacy",
        "advocacy",
        (("nps", "adv_nps"), ("converted_referrals", "adv_referrals"), ("shares", "adv_shares")),
    ),
    ("rfm", "r_score", (("revenue_rank", "revenue_rank"),)),
    ("value_tier", "value_tier", (("next", "tier_next"),)),
    (
        "lifecycle",
        "lifecycle_stage",
        (
            ("phase", "lifecycle_phase"),
            ("purchases", "purchases_total"),
            ("purchases_in_window", "purchases_window"),
            ("days_since_first", "days_since_first"),
            ("days_since_last", "days_since_last"),
            ("mean_gap_days", "mean_gap_days"),
            ("at_risk_after_days", "at_risk_after_days"),
            ("revenue_first_half", "revenue_first_half"),
            ("revenue_second_half", "revenue_second_half"),
        ),
    ),
    # relationship depth and cost to serve (rapport.analytics.costs.depth_and_cost)
    (
        "depth",
        "relationship_depth",
        (
            ("score", "relationship_depth"),
            ("tenure", "depth_tenure"),
            ("frequency", "depth_frequency"),
            ("cross_buy", "depth_cross_buy"),
            ("contact", "depth_contact"),
            ("channels", "depth_channels"),
            ("purchases_in_window", "depth_purchases"),
            ("categories", "depth_categories"),
            ("contacts", "depth_contacts"),
            ("channel_count", "depth_channel_count"),
        ),
    ),
    (
        "cost",
        "cost_to_serve",
        (
            ("total", "cost_to_serve"),
            ("interactions", "cost_interactions"),
            ("tickets", "cost_tickets"),
            ("deliveries", "cost_deliveries"),
            ("points", "cost_points"),
            ("revenue", "cost_revenue"),
            ("ratio", "cost_to_serve_ratio"),
        ),
    ),
)
#: The predictive groups of the ``components`` document (filled when the models are fitted):
#: key, the column that must be set, and the inputs.
PREDICTION_GROUPS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "prediction",
        "p_alive",
        (
            ("expected_purchases_90d", "expected_purchases_90d"),
            ("clv_low", "clv_low"),
            ("clv_high", "clv_high"),
        ),
    ),
    ("churn", "churn_risk", (("source", "churn_source"),)),
)
#: The predictive columns of ``customer_scores`` and the extra inputs beside them.
PREDICTION_COLUMNS = ("p_alive", "expected_purchases_90d", "predicted_clv", "churn_risk")
PREDICTION_INPUTS = ("clv_low", "clv_high", "churn_source", "churn_reasons")
#: Decimals kept for fractional inputs in the components document.
COMPONENT_DECIMALS = 4
#: Rows of the snapshot made and written at a time (:func:`snapshot_parts`): a part's
#: components documents, its Polars frame and the driver's rows are what the write holds
#: in memory (at 100,000 customers the peak is 0.97 GB with parts of 20,000, 1.13–1.15 GB
#: with parts of 50,000, for the same CPU time).
PART_ROWS = 20_000


@dataclass
class ScoringRun:
    """What :func:`score` did: the snapshot date, the moment scored, rows, and seconds per
    step: ``copy`` (the engine opened and, on DuckDB, its working copy of the store made),
    ``models``, ``compute``, ``metrics``, ``prepare``, ``write``, ``reports``. The
    snapshot's parts are made (``prepare``) while the ones before are written, so those
    two overlap."""

    as_of: dt.date
    moment: dt.datetime
    rows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    #: The fitted predictive models (``None`` when scoring ran without them).
    models: Any = None
    #: Reports of the latest snapshot the pages ask for first, prepared after the write
    #: (:func:`prepare_pages`).
    reports: int = 0
    #: ``customers`` in the snapshot and, per score of
    #: :data:`rapport.analytics.scores.COVERED`, the customers it has a value for.
    coverage: dict[str, int] = field(default_factory=dict)


def today(tz: Any) -> dt.date:
    """Today's date in the business time zone."""
    return dt.datetime.now(tz).date()


def compute(
    settings: Settings,
    moment: dt.datetime,
    *,
    rules: Rules,
    engine: str | None = None,
    predictions: pa.Table | None = None,
    analytics: Any = None,
    degrees: Any = None,
) -> pa.Table:
    """Every customer's scores and inputs as of ``moment`` (naive UTC), in one engine run;
    ``predictions`` (``customer_id, churn_risk``) feed the tiers' churn-risk check.
    ``analytics`` is an open ``(engine, sources)`` pair to run on instead of opening one,
    ``degrees`` the degrees as of ``moment`` with their inputs already computed on it
    (:attr:`rapport.models.pipeline.FittedModels.degrees`)."""
    import ibis

    from rapport.analytics.connect import connect
    from rapport.analytics.costs import depth_and_cost
    from rapport.analytics.metrics import execute
    from rapport.analytics.scores import customer_scores
    from rapport.analytics.sources import Sources

    risk = None
    if predictions is not None:
        risk = ibis.memtable(predictions.select(["customer_id", "churn_risk"]))
    with contextlib.ExitStack() as stack:
        if analytics is None:
            eng = stack.enter_context(connect(settings, engine=engine))
            src = Sources(eng, rules=rules)
        else:
            eng, src = analytics
        expr = customer_scores(src, moment, rules=rules, predictions=risk, degrees_table=degrees)
        expr = _with(expr, depth_and_cost(src, moment, rules=rules))
        # sorted by the engine (in parallel, within its memory limit), not by a copy here,
        # and fetched in batches
        return execute(expr.order_by("customer_id"), eng.con, batch_rows=SCORES_BATCH_ROWS)


def _with(scores: Any, extra: Any) -> Any:
    """``scores`` with the columns of ``extra`` (keyed by ``customer_id``) left-joined."""
    extra = extra.rename(_key="customer_id")
    return scores.left_join(extra, scores.customer_id == extra._key).drop("_key")


def components(scores: pa.Table) -> pa.Array:
    """The ``components`` document of each row of :func:`compute`'s table, as the JSON text
    the store keeps: one group per score (null where the score is), holding the inputs it
    used; the value tier's also names the checks of the next tier the customer fails
    (``missing``), the churn's its reasons. Written compact, in the store's current layout
    (:mod:`rapport.store.components`, which reads it back keyed): the values alone, each
    as Polars writes it in JSON, non-finite numbers as ``null``."""
    frame = pl.from_arrow(scores)
    assert isinstance(frame, pl.DataFrame)

    groups = []
    predicted = "p_alive" in frame.columns
    for key, score, inputs in COMPONENT_GROUPS + (PREDICTION_GROUPS if predicted else ()):
        fields = [_json_value(pl.col(column), frame.schema[column]) for _, column in inputs]
        if key == "value_tier":
            fields.append(_json_encoded(pl.col("tier_missing").str.split(",")))
        if key == "churn":
            reasons = pl.col("churn_reasons")
            if frame.schema["churn_reasons"] == pl.String:  # JSON text
                reasons = reasons.str.json_decode(REASONS_DTYPE)
            fields.append(_json_reasons(reasons))
        group = _json_array(fields)
        groups.append(pl.when(pl.col(score).is_not_null()).then(group).otherwise(pl.lit("null")))
    document = _json_array([pl.lit(str(stored_components.CURRENT)), *groups])
    return frame.select(document.alias("components")).to_series().to_arrow()


def _json_array(items: list[pl.Expr]) -> pl.Expr:
    """The JSON array of ``items`` (each a JSON text)."""
    return pl.concat_str([pl.lit("["), pl.concat_str(items, separator=","), pl.lit("]")])


def _json_value(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """``expr`` as JSON text: a fractional number rounded to :data:`COMPONENT_DECIMALS`
    (``null`` when missing or not finite), a whole number as it is, anything else as
    Polars' JSON encoding writes it."""
    if dtype.is_float():
        return _json_number(expr.round(COMPONENT_DECIMALS))
    if dtype.is_integer():
        return expr.cast(pl.String).fill_null("null")
    return _json_encoded(expr)


def _json_number(expr: pl.Expr) -> pl.Expr:
    """A fractional number as JSON text, ``null`` when missing or not finite."""
    return pl.when(expr.is_finite()).then(expr.cast(pl.String)).otherwise(pl.lit("null"))


def _json_encoded(expr: pl.Expr) -> pl.Expr:
    """Any value as JSON text, escaped by Polars' JSON encoding (``null`` when missing):
    the value encoded as the one field ``v`` of an object, then taken out of it."""
    encoded = pl.struct(expr.alias("v")).struct.json_encode()
    return encoded.str.slice(len('{"v":')).str.strip_suffix("}")


def _json_reasons(reasons: pl.Expr) -> pl.Expr:
    """Each row's churn reasons (:data:`REASONS_DTYPE`) as a JSON array of arrays, each
    reason's values in :data:`rapport.store.components.REASON_FIELDS` order (as the
    pipeline rounded them), ``null`` without reasons."""
    field = pl.element().struct.field
    item = _json_array(
        [
            _json_encoded(field("feature")),
            _json_number(field("value")),
            _json_number(field("contribution")),
            _json_encoded(field("direction")),
        ]
    )
    listed = pl.concat_str([pl.lit("["), reasons.list.eval(item).list.join(","), pl.lit("]")])
    return pl.when(reasons.is_null()).then(pl.lit("null")).otherwise(listed)


#: The churn reasons as the ``components`` document stores them.
REASONS_DTYPE = pl.List(
    pl.Struct(
        {
            "feature": pl.String,
            "value": pl.Float64,
            "contribution": pl.Float64,
            "direction": pl.String,
        }
    )
)


def with_predictions(scores: pa.Table, predictions: pa.Table | None) -> pa.Table:
    """``scores`` with the predictive columns of ``predictions`` joined by customer (null
    for customers without a prediction, such as prospects)."""
    if predictions is None:
        return scores
    # by position (Arrow's join cannot carry the reasons' list column); ids are unique
    ids = scores.column("customer_id").to_numpy()
    rows = rows_by_key(predictions.column("customer_id").to_numpy(), ids)
    for name in (*PREDICTION_COLUMNS, *PREDICTION_INPUTS):
        scores = scores.append_column(name, predictions.column(name).take(rows))
    if not ascending(ids):  # compute() sorts already
        scores = scores.sort_by("customer_id")
    return scores


def coverage(scores: pa.Table) -> dict[str, int]:
    """``customers`` (rows of ``scores``) and, per score of
    :data:`rapport.analytics.scores.COVERED`, the customers with a value: what the snapshot
    written from ``scores`` holds (the store refuses a non-finite score, so a value is a
    non-null one)."""
    from rapport.analytics.scores import COVERED

    n = scores.num_rows
    return {"customers": n, **{name: n - scores.column(name).null_count for name in COVERED}}


def snapshot_table(scores: pa.Table, *, as_of: dt.date, computed_at: dt.datetime) -> pa.Table:
    """The rows of the snapshot: the columns of ``customer_scores`` the scores fill (with
    the predictive ones when ``scores`` has them, and ``churn_source``, also in the
    document, as a column the churn warnings read), the ``components`` document, ``as_of``
    and ``computed_at``."""
    from rapport.analytics.scores import SCORE_COLUMNS

    n = scores.num_rows
    names = list(SCORE_COLUMNS)
    if "p_alive" in scores.column_names:
        names += PREDICTION_COLUMNS
    columns = {name: scores.column(name) for name in names}
    columns["components"] = components(scores)
    if "churn_source" in scores.column_names:  # as the document has it: none without a risk
        rated = pc.is_valid(scores.column("churn_risk"))
        columns["churn_source"] = pc.if_else(
            rated, scores.column("churn_source"), pa.scalar(None, pa.string())
        )
    columns["as_of"] = pa.array([as_of] * n, pa.date32()) if n else pa.array([], pa.date32())
    stamp = computed_at.astimezone(dt.UTC).replace(tzinfo=None)
    columns["computed_at"] = pa.array([stamp] * n, pa.timestamp("us"))
    return pa.table(columns)


def snapshot_parts(
    scores: pa.Table, *, as_of: dt.date, computed_at: dt.datetime, seconds: dict[str, float]
) -> Iterator[pa.Table]:
    """The :func:`snapshot_table` of ``scores`` in parts of at most :data:`PART_ROWS` rows,
    each made only when it is asked for (by the writer, which writes it before asking for
    the next), so the ``components`` documents of a million customers are never in memory
    at once. The seconds spent making the parts are added to ``seconds["prepare"]``."""
    for start in range(0, max(scores.num_rows, 1), PART_ROWS):
        began = time.perf_counter()
        part = snapshot_table(scores.slice(start, PART_ROWS), as_of=as_of, computed_at=computed_at)
        seconds["prepare"] = seconds.get("prepare", 0.0) + time.perf_counter() - began
        yield part


def made_ahead(parts: Iterator[T], seconds: dict[str, float]) -> Generator[T, None, None]:
    """``parts`` (the parts of :func:`snapshot_parts` as the store's writer checks and
    encodes them, :func:`rapport.store.scores.replace_snapshot`), each made on a thread of
    its own while the caller writes the one before: Polars and Arrow make the next part's
    documents and rows while SQLite (or ``COPY``) writes this one, mostly outside the
    interpreter lock, so on two cores the making hides behind the writing. At most two
    parts wait made beside the one written, so memory stays bounded by parts. The seconds
    the caller waited for a part are added to ``seconds["waited"]``; an error making a
    part is raised to the caller, and leaving early stops the thread after the part it is
    making."""
    import queue
    import threading

    box: queue.Queue[tuple[T | None, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: tuple[T | None, BaseException | None]) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                return box.put(item, timeout=0.1)

    def make() -> None:
        try:
            for part in parts:
                put((part, None))
                if stop.is_set():
                    return
            put((None, None))
        except BaseException as exc:  # raised again on the caller's thread
            put((None, exc))

    thread = threading.Thread(target=make, name="rapport-snapshot-parts", daemon=True)
    thread.start()
    try:
        while True:
            began = time.perf_counter()
            part, error = box.get()
            seconds["waited"] = seconds.get("waited", 0.0) + time.perf_counter() - began
            if error is not None:
                raise error
            if part is None:
                return
            yield part
    finally:
        stop.set()
        thread.join()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """The C library's ``malloc_trim`` (glibc's), or ``None`` where it has none."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # not glibc; no C library by name (Windows)
        return None
    return trim


def release_memory() -> None:
    """Give the memory of freed tables back to the operating system.

    What a run frees stays with the allocators that held it, ready for reuse: Arrow's
    memory pool and the C library's heap, where small blocks freed amid ones still in use
    are never returned by themselves. After the snapshot's write at 1,000,000 customers,
    1.1 GB of the process's 1.65 GB of anonymous memory was such free space
    (docs/benchmarks.md); the reports that follow map the store's pages on top of it.
    """
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def check_snapshot(table: pa.Table) -> None:
    """Refuse a snapshot with a value the store would refuse, naming the first one and its
    customer (:func:`rapport.store.scores.check_snapshot`).

    Raises
    ------
    ValidationFailed
        Naming the column, the value and the customer.
    """
    scores_store.check_snapshot(table)


def write_bulk(
    engine: Engine,
    table: pa.Table | Iterable[pa.Table],
    *,
    as_of: dt.date,
    ahead: Callable[[Iterator[Any]], Generator[Any, None, None]] | None = None,
) -> int:
    """Replace the snapshot of ``as_of`` with ``table`` (one table or the snapshot in parts,
    see :func:`snapshot_parts`) in one transaction; returns rows. ``ahead`` makes, checks
    and encodes the parts on a thread of its own (:func:`made_ahead`).

    A writer's transaction, waiting its turn behind imports and API writes, in which
    :func:`rapport.store.scores.replace_snapshot` checks the rows and writes them.

    Raises
    ------
    ValidationFailed
        From :func:`check_snapshot`, or when the database refuses a row (a customer
        deleted meanwhile).
    """
    # the deletion of the date's old rows is journalled for the savepoint in files, not in
    # memory, and the indexes' pages stay in a larger cache (rapport.store.db.sqlite_bulk_write)
    with engine.connect() as conn, sqlite_bulk_write(conn), begin_writer(conn):
        return scores_store.replace_snapshot(connection=conn, as_of=as_of, data=table, ahead=ahead)


def score(
    settings: Settings | None = None,
    *,
    as_of: dt.date | None = None,
    engine: str | None = None,
    on_step: Callable[[str], None] | None = None,
    models: bool = True,
) -> int:
    """Compute every customer's scores as of the end of the local day ``as_of`` (default:
    today) and store them as the snapshot of that date, replacing it if it exists; with
    ``models``, the predictive columns too (see :func:`run`).

    Returns
    -------
    int
        Rows written (one per customer).
    """
    return run(settings, as_of=as_of, engine=engine, on_step=on_step, models=models).rows


def run(
    settings: Settings | None = None,
    *,
    as_of: dt.date | None = None,
    engine: str | None = None,
    on_step: Callable[[str], None] | None = None,
    models: bool = True,
) -> ScoringRun:
    """As :func:`score`, returning the :class:`ScoringRun` with its timings.

    With ``models`` (the default) the predictive models are fitted as of the same moment
    (:func:`rapport.models.pipeline.fit_models`, saved to the model registry) before the
    scores, whose value tiers check the churn risk, and the snapshot gets ``p_alive``,
    ``expected_purchases_90d``, ``predicted_clv`` and ``churn_risk`` with its reasons; a
    model that cannot be fitted leaves its columns null and says why in
    ``ScoringRun.models.notes``.
    """
    settings = settings or get_settings()
    rules = load_rules(settings)
    day = as_of or today(settings.tz)
    result = ScoringRun(as_of=day, moment=day_end(day, settings.tz))
    store = engine_from_settings(settings)
    try:
        ensure_current(store)
    finally:
        # No connection of ours stays open while DuckDB reads the store: on a SQLite store
        # DuckDB uses its own copy of SQLite, and two copies in one process must not share
        # an open WAL database (closing one unmaps the other's shared memory).
        store.dispose()

    def step(name: str) -> float:
        if on_step:
            on_step(name)
        return time.perf_counter()

    from rapport.analytics.connect import connect
    from rapport.analytics.working_copy import working_sources
    from rapport.models import preload

    predictions = None
    # scikit-learn and SciPy are imported on a thread of their own while DuckDB copies the
    # store (rapport.models.preload)
    loading = preload.start() if models else None
    with contextlib.ExitStack() as stack:
        # one engine for the models and scores, on the store read once (a working copy
        # of it when the engine is DuckDB attached to it)
        started = step("copy")
        eng = stack.enter_context(connect(settings, engine=engine))
        src = stack.enter_context(working_sources(eng, settings, rules=rules))
        result.seconds["copy"] = time.perf_counter() - started
        analytics = (eng, src)
        if models:
            preload.wait(loading)
            from rapport.models.pipeline import fit_models, predict

            started = step("models")
            result.models = fit_models(
                settings, rules, result.moment, analytics=analytics, on_step=on_step
            )
            predictions = predict(result.models, rules)
            result.seconds["models"] = time.perf_counter() - started
        started = step("compute")
        scores = compute(
            settings,
            result.moment,
            rules=rules,
            predictions=predictions,
            analytics=analytics,
            degrees=result.models.degrees if result.models is not None else None,
        )
        result.seconds["compute"] = time.perf_counter() - started
        overview_metrics = None
        apart = engine is None and metrics_apart(src, scores.num_rows)
        if engine is None and not apart:  # the configured engine, which the overview reads
            started = step("metrics")
            overview_metrics = _overview_metrics(settings, rules, result.as_of, analytics)
            result.seconds["metrics"] = time.perf_counter() - started
    with contextlib.ExitStack() as beside:
        mirror: Mirror | None = None  # what the reports read, when complete
        if apart:  # on the copy this run has let go, while the snapshot is written
            made = _new_mirror(settings, result.as_of)
            # kept for the next run once complete (the reports read it), else deleted
            beside.callback(lambda: _keep(made, settings) if mirror else made.delete())
            metrics = beside.enter_context(
                Beside(
                    _metrics_apart,
                    settings,
                    rules,
                    result.as_of,
                    made.path,
                    made.dates,
                    made.written,
                    what="overview metrics",
                )
            )
        narrow, computed_at = _write(settings, result, scores, predictions, step, beside)
        del scores, predictions
        if apart:
            mirrored = False
            try:
                overview_metrics, result.seconds["metrics"], mirrored = metrics.result()
            except RapportError:
                log.warning("the overview's metrics were not computed", exc_info=True)
            mirror = _with_snapshot(settings, made, narrow, result.as_of, computed_at, mirrored)
        del narrow
        # the scores are written: their memory goes back to the system before the reports
        # read the store, whose pages they map (rapport.store.db.SQLITE_MMAP_BYTES)
        release_memory()
        started = step("reports")
        result.reports = prepare_pages(settings, rules, metrics=overview_metrics, mirror=mirror)
        result.seconds["reports"] = time.perf_counter() - started
    return result


def _new_mirror(settings: Settings, day: dt.date) -> Mirror:
    """The mirror of the reports of the snapshot dated ``day`` to be made beside its write
    (:mod:`rapport.reports.mirror`): a new file's path under the data directory, the
    store's stamp read now, before the customers and users are copied, and the snapshots
    the copy will hold with the time each was written: the one before ``day`` (the
    movements') and the others of the overview's history once ``day``'s is written
    (:func:`rapport.reports.snapshot_cache.history_dates`)."""
    from rapport.reports import snapshot_cache
    from rapport.reports.mirror import Mirror, stamp
    from rapport.reports.movers import previous_snapshot

    folder = Path(settings.data_dir) / "duckdb" / "work"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"reports-{os.getpid()}-{uuid.uuid4().hex[:8]}.duckdb"
    store = engine_from_settings(settings)
    try:
        with session_scope(store) as session:
            before = previous_snapshot(session, day)
            days = set(snapshot_cache.history_dates(session, adding=day)) - {day}
            if before is not None:
                days.add(before)
            written = {}
            for other in sorted(days):
                held = snapshot_cache.written(session, other)
                if held is not None:
                    written[str(other)] = held
            return Mirror(path, stamp=stamp(session), written=written)
    finally:
        store.dispose()


def _keep(mirror: Mirror, settings: Settings) -> None:
    """``mirror``, complete, kept for the next run (:meth:`rapport.reports.mirror.Mirror.
    keep`); deleted if it cannot be."""
    from rapport.reports.mirror import kept_path

    try:
        mirror.keep(kept_path(settings.data_dir))
    except OSError:
        log.warning("the reports' mirror was not kept", exc_info=True)
        mirror.delete()


def _with_snapshot(
    settings: Settings,
    mirror: Mirror,
    narrow: pa.Table,
    day: dt.date,
    computed_at: dt.datetime,
    copied: bool,
) -> Mirror | None:
    """``mirror`` with the snapshot just written (``narrow``, its rows' narrow columns,
    written at ``computed_at``) added, when the process beside the write ``copied`` the
    rest into it and the store holds that snapshot still; ``None`` otherwise (the reports
    then read the store)."""
    from rapport.reports import snapshot_cache

    if not copied:
        return None
    store = engine_from_settings(settings)
    try:
        with session_scope(store) as session:
            written = snapshot_cache.written(session, day)
    finally:
        store.dispose()
    if written != str(computed_at.astimezone(dt.UTC)):  # written again meanwhile
        return None
    try:
        mirror.add_snapshot(narrow, as_of=day, written=written)
    except Exception:
        log.warning("the reports' mirror was not completed", exc_info=True)
        return None
    return mirror


def _write(
    settings: Settings,
    result: ScoringRun,
    scores: pa.Table,
    predictions: pa.Table | None,
    step: Callable[[str], float],
    beside: contextlib.ExitStack,
) -> tuple[pa.Table, dt.datetime]:
    """The run's snapshot written to the store (its rows, coverage and timings in
    ``result``); returns the columns of the rows written that the reports' mirror holds
    (:data:`rapport.reports.mirror.MIRRORED_SCORES`, those the run has) and the time they
    were written at. The WAL file that the write filled is checkpointed on a thread while
    ``beside`` is open (:func:`rapport.store.db.checkpoint_beside`)."""
    from rapport.reports.mirror import MIRRORED_SCORES

    day = result.as_of
    started = step("prepare")
    scores = with_predictions(scores, predictions)
    result.coverage = coverage(scores)
    result.seconds["prepare"] = time.perf_counter() - started
    # the snapshot is made part by part ("prepare") on a thread while the writer writes the
    # part before; "write" is the writer's time, less what it waited for parts
    started = step("write")
    computed_at = utcnow()
    parts = snapshot_parts(scores, as_of=day, computed_at=computed_at, seconds=result.seconds)
    waited: dict[str, float] = {}
    store = engine_from_settings(settings)
    try:
        checkpoint = beside.enter_context(checkpoint_beside(store))
        ahead = functools.partial(made_ahead, seconds=waited)
        result.rows = write_bulk(store, parts, as_of=day, ahead=ahead)
        checkpoint()
    finally:
        store.dispose()
    elapsed = time.perf_counter() - started
    result.seconds["write"] = elapsed - waited.get("waited", 0.0)
    kept = [c for c in MIRRORED_SCORES if c in scores.column_names]
    return scores.select(kept), computed_at


def _overview_metrics(
    settings: Settings, rules: Rules, day: dt.date, analytics: tuple[Any, Any]
) -> tuple[dt.date, dict[str, Any]] | None:
    """The overview's metrics as of the end of the run's day ``day``
    (:func:`rapport.reports.overview.metric_overview` of its first period), computed on the
    run's open engine and working copy, which hold what they read: the run keeps them with
    its snapshot (:func:`prepare_pages`). ``None`` when they could not be computed (logged;
    the pages compute them)."""
    from rapport.reports import overview

    try:
        moment = day_end(day, settings.tz)
        metrics = overview.metric_overview(settings, rules, as_of=moment, analytics=analytics)
        return day, metrics
    except Exception:
        log.warning("the overview's metrics were not computed", exc_info=True)
        return None


def metrics_apart(src: Any, customers: int) -> bool:
    """Whether the run computes the overview's metrics in a process of its own while it
    writes the snapshot (:func:`_metrics_apart`) rather than before: from
    :data:`METRICS_APART_CUSTOMERS` customers, when the run's working copy is the kept one
    (:func:`rapport.analytics.working_copy.working_sources`), which that process opens
    again as it is. Another copy (a PostgreSQL store's, or one made while another run
    holds the kept one) is the run's alone and goes with it."""
    from rapport.analytics.working_copy import WorkingSources

    kept_copy = isinstance(src, WorkingSources) and src.refresh is not None
    return kept_copy and customers >= METRICS_APART_CUSTOMERS


def _metrics_apart(
    settings: Settings,
    rules: Rules,
    day: dt.date,
    mirror: Path | None = None,
    dates: Iterable[dt.date] = (),
    written: Mapping[str, str] | None = None,
) -> tuple[tuple[dt.date, dict[str, Any]] | None, float, bool]:
    """:func:`_overview_metrics` in a process of its own, on the kept working copy, which
    it opens again (nothing changed in the store since the run brought it up to date, so
    that costs a look at the store's marks); with its seconds. DuckDB works on one thread,
    at a lower priority than the run's, beside the writer, which keeps one core busy.
    Then, with ``mirror``, the snapshots dated ``dates`` (``written`` at the times given),
    the customers and the users are copied into that new file, from the mirror an earlier
    run kept where it holds them, else from the store
    (:func:`rapport.reports.mirror.copy_store`); the last item says whether they were."""
    from rapport.analytics.connect import STORE, connect
    from rapport.analytics.working_copy import working_sources
    from rapport.reports.mirror import copy_store, kept_path

    started = time.perf_counter()
    os.nice(METRICS_APART_NICE)  # this process's own: it is the metrics' alone
    if not settings.duckdb_memory_limit:  # else the one configured
        settings = settings.model_copy(update={"duckdb_memory_limit": METRICS_APART_MEMORY})
    copied = False
    with connect(settings) as eng:
        eng.con.raw_sql(f"SET threads = {METRICS_APART_THREADS}")
        with working_sources(eng, settings, rules=rules) as src:
            metrics = _overview_metrics(settings, rules, day, (eng, src))
        seconds = time.perf_counter() - started
        if mirror is not None:
            try:
                copy_store(
                    eng.con,
                    mirror,
                    dates=dates,
                    store=STORE,
                    written=written,
                    take=kept_path(settings.data_dir),
                )
                copied = True
            except Exception:
                log.warning("the reports' mirror was not made", exc_info=True)
    return metrics, seconds, copied


def prepare_pages(
    settings: Settings,
    rules: Rules,
    *,
    metrics: tuple[dt.date, dict[str, Any]] | None = None,
    mirror: Mirror | None = None,
) -> int:
    """What the pages read of the latest snapshot, computed and kept in the store: the
    overview's metrics (:func:`rapport.reports.prepared.prepare_metrics`; ``metrics``, the
    date and the result :func:`rapport.reports.overview.metric_overview` gave at the end of
    that day, are kept as they are when that day's snapshot is the latest) and the first
    snapshot reports for every kind of scope (:func:`rapport.reports.prepared.
    prepare_store`, its aggregates on ``mirror`` where it holds what they read); returns the
    reports asked for, the metrics counting one. The snapshot is written already: what
    fails is logged and left for the pages to compute, and the run does not fail."""
    from rapport.reports.prepared import prepare_metrics, prepare_store

    asked = 0
    try:
        asked += prepare_metrics(settings, rules, computed=metrics)
    except Exception:
        log.warning("the overview's metrics were not prepared", exc_info=True)
    store = engine_from_settings(settings)
    try:
        asked += prepare_store(
            session_factory(store), rules=rules, threads=PREPARE_THREADS, mirror=mirror
        )
    except Exception:
        log.warning("the snapshot's page reports were not prepared", exc_info=True)
    finally:
        store.dispose()
    return asked


__all__ = [
    "ScoringRun",
    "check_snapshot",
    "compute",
    "coverage",
    "prepare_pages",
    "run",
    "score",
    "with_predictions",
    "write_bulk",
]
