"""``rapport loyalty``: points from orders, bonuses, rewards and vouchers, expiry.

``post`` brings every order's points to what the earning rule says
(:mod:`rapport.store.loyalty_earning`): new purchases earn, refunds and cancellations give
back, nothing is posted twice; imports and the API do it as orders arrive, this command
catches up (after a ledger import, or a change of rules that should apply from now on).
``bonuses`` posts the bonuses of ``[loyalty.bonuses]`` (:mod:`rapport.store.loyalty_bonuses`).
``rewards`` lists the catalogue, ``reward`` adds or changes one, ``redeem`` spends a
reward's points for a customer and prints the voucher code, ``use`` marks a voucher used
(:mod:`rapport.store.loyalty_rewards`).
``expire`` posts the expiry of every lot of points past ``[loyalty] points_expire_days``
(:mod:`rapport.store.loyalty_expiry`), a thousand customers per transaction, with a
progress bar on a terminal; ``--dry-run`` counts without writing. Running it again posts
nothing more. ``expiring CUSTOMER`` shows what a customer's points expire when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer

from rapport.cli.loyalty_report import report_command
from rapport.cli.output import Column, FormatOption, OutputFormat, emit
from rapport.domain import RewardKind as RewardKindOption

loyalty_app = typer.Typer(
    help="The loyalty programme's points: earned from orders by rule, bonuses, and their expiry.",
    no_args_is_help=True,
)
loyalty_app.command("report")(report_command)

#: The ``progress(done, total)`` callback the ledger jobs call.
OnProgress = Callable[[int, int], None]
T = TypeVar("T")


def _moment(at: str | None, tz: Any) -> dt.datetime:
    from rapport.cli.audit import parse_moment
    from rapport.store.repository import utcnow

    moment = parse_moment(at, "--at", tz, end_of_day=True)
    return utcnow() if moment is None else moment.replace(tzinfo=dt.UTC)


@contextmanager
def _customers_bar(label: str | None, output: OutputFormat) -> Iterator[OnProgress]:
    """A progress bar of customers done on a terminal (none without a ``label``, for JSON
    or CSV, or when piped); yields the ``progress(done, total)`` callback the ledger jobs
    call."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from rapport.cli.common import err_console

    with Progress(
        TextColumn(label or ""),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        disable=label is None or output != OutputFormat.table or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("customers", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _over_customers(
    label: str | None, output: OutputFormat, job: Callable[[Any, OnProgress], T]
) -> T:
    """Run a ledger job over every customer of the store: ``job(writing, progress)``, where
    ``writing()`` opens a writing transaction (the jobs commit a batch of customers at a
    time) and ``progress`` moves the bar ``label`` of customers done
    (:func:`_customers_bar`; no bar without a label)."""
    from rapport.cli.common import store_engine
    from rapport.store import session_scope

    engine = store_engine()
    try:
        with _customers_bar(label, output) as progress:
            return job(lambda: session_scope(engine, writing=True), progress)
    finally:
        engine.dispose()


@loyalty_app.command("post")
def post_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be posted; write nothing.")
    ] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Post the points every order earns by the rules, and take back what cancelled or
    refunded orders earned; running it again posts nothing more."""
    from rapport.config import get_settings, load_rules
    from rapport.i18n.labels import t
    from rapport.store.loyalty_earning import post_orders
    from rapport.store.repository import utcnow

    settings = get_settings()
    locale = settings.locale
    run = _over_customers(
        t("loyalty.posting_customers", locale),
        output,
        lambda writing, progress: post_orders(
            writing, rules=load_rules(settings), now=utcnow(), dry_run=dry_run, progress=progress
        ),
    )
    row = run.as_dict()
    columns = [
        Column(name, t(f"loyalty.{name}", locale), numeric=True)
        for name in (
            "orders",
            "customers",
            "earned",
            "earned_points",
            "clawbacks",
            "clawed_points",
            "restored_points",
            "owed_points",
        )
    ]
    title = t("loyalty.post_dry_run_title" if dry_run else "loyalty.post_title", locale)
    emit([row], columns, output, title=title, locale=locale, key="run")


@loyalty_app.command("bonuses")
def bonuses_command(
    at: Annotated[
        str | None,
        typer.Option("--at", help="Post what is due at the end of this local date (default: now)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be posted; write nothing.")
    ] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Post the bonuses of [loyalty.bonuses] due now: welcome, birthday month, first repeat
    purchase, referral; each once, for the events of the last window_days."""
    from rapport.config import get_settings, load_rules
    from rapport.i18n.labels import t
    from rapport.store.loyalty_bonuses import KINDS, post_bonuses

    settings = get_settings()
    locale = settings.locale
    moment = _moment(at, settings.tz)
    run = _over_customers(
        None,
        output,
        lambda writing, _: post_bonuses(
            writing, rules=load_rules(settings), at=moment, tz=settings.tz, dry_run=dry_run
        ),
    )
    rows = [
        {
            "kind": kind,
            "bonus": t(f"loyalty.bonus_{kind}", locale),
            "entries": run.entries[kind],
            "points": run.points[kind],
        }
        for kind in KINDS
    ]
    columns = [
        Column("bonus" if output == OutputFormat.table else "kind", t("loyalty.bonus", locale)),
        Column("entries", t("loyalty.entries_posted", locale), numeric=True),
        Column("points", t("loyalty.points", locale), numeric=True),
    ]
    title = t("loyalty.bonuses_dry_run_title" if dry_run else "loyalty.bonuses_title", locale)
    emit(
        rows,
        columns,
        output,
        title=title,
        locale=locale,
        key="bonuses",
        meta={"at": moment.isoformat(), "capped_referrals": run.capped, "dry_run": dry_run},
    )


@loyalty_app.command("rewards")
def rewards_command(output: FormatOption = OutputFormat.table) -> None:
    """The rewards catalogue: what points buy, at what price, with the stock left."""
    from rapport.cli.common import store_engine
    from rapport.config import get_settings
    from rapport.i18n.enums import value_label
    from rapport.i18n.labels import t
    from rapport.store import session_scope
    from rapport.store.loyalty_rewards import catalogue

    locale = get_settings().locale
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            rows = catalogue(session=session)
    finally:
        engine.dispose()
    for row in rows:
        row["name"] = row["name_zh"] if locale == "zh_CN" else row["name_en"]
        row["kind_label"] = value_label("loyalty_rewards", "kind", row["kind"], locale)
    table = output == OutputFormat.table
    columns = [
        Column("code", t("loyalty.reward_code", locale)),
        Column("name", t("loyalty.reward_name", locale)),
        Column("kind_label" if table else "kind", t("loyalty.reward_kind", locale)),
        Column("points", t("loyalty.reward_points", locale), numeric=True),
        Column("stock", t("loyalty.reward_stock", locale), numeric=True),
        Column("active", t("loyalty.reward_active", locale)),
    ]
    if not table:
        columns[1:2] = [Column("name_zh", "name_zh"), Column("name_en", "name_en")]
    emit(
        rows,
        columns,
        output,
        title=t("loyalty.rewards_title", locale),
        locale=locale,
        key="rewards",
    )


@loyalty_app.command("reward")
def reward_command(
    code: Annotated[str, typer.Argument(help="The reward's code (unique).")],
    name_zh: Annotated[str, typer.Option("--name-zh", help="Its name in Chinese.")],
    name_en: Annotated[str, typer.Option("--name-en", help="Its name in English.")],
    kind: Annotated[RewardKindOption, typer.Option(help="coupon, gift or discount.")],
    points: Annotated[int, typer.Option(min=1, help="Its price in points.")],
    stock: Annotated[
        int | None, typer.Option(min=0, help="Vouchers left (default: unlimited).")
    ] = None,
    inactive: Annotated[
        bool, typer.Option("--inactive", help="Keep it in the catalogue, not offered.")
    ] = False,
) -> None:
    """Add a reward to the catalogue, or change the one of CODE."""
    from rapport.cli.common import console, store_engine
    from rapport.config import get_settings
    from rapport.i18n.labels import t
    from rapport.store import session_scope
    from rapport.store.loyalty_rewards import save

    engine = store_engine()
    try:
        with session_scope(engine, writing=True) as session:
            row = save(
                session=session,
                values={
                    "code": code,
                    "name_zh": name_zh,
                    "name_en": name_en,
                    "kind": kind.value,
                    "points": points,
                    "stock": stock,
                    "active": not inactive,
                },
            )
    finally:
        engine.dispose()
    console.print(t("loyalty.reward_saved", get_settings().locale).format(**row))


@loyalty_app.command("redeem")
def redeem_command(
    customer: Annotated[int, typer.Argument(min=1, help="The customer's id.")],
    code: Annotated[str, typer.Argument(help="The reward's code.")],
) -> None:
    """Redeem a reward for a customer: its points are spent and a voucher is issued; the
    voucher code alone is printed on standard output."""
    from rapport.cli.common import err_console, store_engine
    from rapport.config import get_settings
    from rapport.i18n.labels import t
    from rapport.store import session_scope
    from rapport.store.loyalty_rewards import redeem
    from rapport.store.repository import utcnow

    engine = store_engine()
    try:
        with session_scope(engine, writing=True) as session:
            voucher = redeem(session=session, customer_id=customer, code=code, at=utcnow())
    finally:
        engine.dispose()
    err_console.print(
        t("loyalty.redeemed", get_settings().locale).format(
            points=voucher["reward"]["points"], code=code, customer=customer
        )
    )
    typer.echo(voucher["code"])


@loyalty_app.command("use")
def use_command(
    voucher: Annotated[str, typer.Argument(help="The voucher's code.")],
) -> None:
    """Mark a voucher used (a voucher is used once)."""
    from rapport.cli.common import console, store_engine
    from rapport.config import get_settings
    from rapport.i18n.labels import t
    from rapport.store import session_scope
    from rapport.store.loyalty_rewards import use_voucher
    from rapport.store.repository import utcnow

    engine = store_engine()
    try:
        with session_scope(engine, writing=True) as session:
            use_voucher(session=session, code=voucher, at=utcnow())
    finally:
        engine.dispose()
    console.print(t("loyalty.voucher_used", get_settings().locale).format(code=voucher))


@loyalty_app.command("expire")
def expire_command(
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Expire what is due at the end of this local date (default: now)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would expire; write nothing.")
    ] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Post the expiry of every lot of points older than [loyalty] points_expire_days
    (oldest points first); running it again posts nothing more."""
    from rapport.config import get_settings, load_rules
    from rapport.i18n.labels import t
    from rapport.store.loyalty_expiry import post_expiries

    settings = get_settings()
    locale = settings.locale
    moment = _moment(at, settings.tz)
    days = load_rules(settings).loyalty.points_expire_days
    run = _over_customers(
        t("loyalty.expiring_customers", locale),
        output,
        lambda writing, progress: post_expiries(
            writing, expire_days=days, at=moment, dry_run=dry_run, progress=progress
        ),
    )
    local = moment.astimezone(settings.tz)
    row = {
        "at": local.isoformat(timespec="seconds"),
        "expire_days": days,
        "customers": run.customers,
        "entries": run.entries,
        "points": run.points,
        "dry_run": run.dry_run,
    }
    columns = [
        Column("at", t("loyalty.at", locale)),
        Column("expire_days", t("loyalty.expire_days", locale), numeric=True),
        Column("customers", t("loyalty.customers", locale), numeric=True),
        Column("entries", t("loyalty.entries", locale), numeric=True),
        Column("points", t("loyalty.points_expired", locale), numeric=True),
    ]
    if output == OutputFormat.table:
        row["at"] = local.strftime("%Y-%m-%d %H:%M")
    title = t("loyalty.dry_run_title" if dry_run else "loyalty.expire_title", locale)
    emit([row], columns, output, title=title, locale=locale, key="run")


@loyalty_app.command("expiring")
def expiring_command(
    customer: Annotated[int, typer.Argument(min=1, help="The customer's id.")],
    output: FormatOption = OutputFormat.table,
) -> None:
    """What a customer's points expire when (spends take the oldest points first)."""
    from rapport.cli.common import store_engine
    from rapport.config import get_settings, load_rules
    from rapport.i18n.labels import t
    from rapport.store import customers, loyalty, session_scope
    from rapport.store.loyalty_expiry import customer_expiring

    settings = get_settings()
    locale = settings.locale
    days = load_rules(settings).loyalty.points_expire_days
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            customers.repo.get(session=session, id=customer)
            balance = loyalty.balance(session=session, customer_id=customer)
            lots = customer_expiring(
                session,
                customer_id=customer,
                expire_days=days,
                after=dt.datetime.min.replace(tzinfo=dt.UTC),
            )
    finally:
        engine.dispose()
    rows = [
        {"expires_at": when.astimezone(settings.tz).date().isoformat(), "points": points}
        for when, points in lots
    ]
    columns = [
        Column("expires_at", t("loyalty.expires_on", locale)),
        Column("points", t("loyalty.points", locale), numeric=True),
    ]
    title = t("loyalty.expiring_title", locale).format(customer=customer, balance=balance)
    emit(
        rows,
        columns,
        output,
        title=title,
        locale=locale,
        key="expiring",
        meta={"customer_id": customer, "balance": balance},
    )


def _end_of_day(as_of: str | None, tz: Any) -> dt.datetime:
    """The end of the local date ``--as-of`` (its last microsecond), or now; aware UTC."""
    from rapport.cli.audit import parse_moment
    from rapport.store.repository import utcnow

    moment = parse_moment(as_of, "--as-of", tz, end_of_day=True)
    if moment is None:
        return utcnow()
    return moment.replace(tzinfo=dt.UTC) - dt.timedelta(microseconds=1)


@loyalty_app.command("tiers")
def tiers_command(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Evaluate at the end of this local date (default: now)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would change; write nothing.")
    ] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Evaluate every member's programme tier: upgrades at once, downgrades only after a
    review date and the grace period; running it again changes nothing more."""
    from rapport.config import get_settings, load_rules
    from rapport.i18n.labels import t
    from rapport.store.loyalty_tiers import evaluate_tiers

    settings = get_settings()
    locale = settings.locale
    moment = _end_of_day(as_of, settings.tz)
    rules = load_rules(settings)
    run = _over_customers(
        t("loyalty.tiers_customers", locale),
        output,
        lambda writing, progress: evaluate_tiers(
            writing, rules=rules, at=moment, tz=settings.tz, dry_run=dry_run, progress=progress
        ),
    )
    local = moment.astimezone(settings.tz)
    row = {
        **run.as_dict(),
        "at": local.isoformat(timespec="seconds"),
        "basis": rules.loyalty.tier_basis,
    }
    names = ("members", "initial", "upgrades", "downgrades", "mappings", "graces")
    columns = [Column(name, t(f"loyalty.{name}", locale), numeric=True) for name in names]
    if output != OutputFormat.table:
        columns = [Column("at", "at"), Column("basis", "basis"), *columns]
        columns.append(Column("written", t("loyalty.written", locale), numeric=True))
    title = t("loyalty.tiers_dry_run_title" if dry_run else "loyalty.tiers_title", locale).format(
        at=local.strftime("%Y-%m-%d"),
        basis=t(f"loyalty.basis_{rules.loyalty.tier_basis}", locale),
    )
    emit([row], columns, output, title=title, locale=locale, key="run")


@loyalty_app.command("tier")
def tier_command(
    customer: Annotated[int, typer.Argument(min=1, help="The customer's id.")],
    output: FormatOption = OutputFormat.table,
) -> None:
    """A member's programme tier: since when, the next review, the basis over the window,
    what is missing for the next tier, and the tier's benefits."""
    from rapport.cli.common import console, store_engine
    from rapport.config import get_settings, load_rules
    from rapport.domain import TicketPriority
    from rapport.i18n.enums import label
    from rapport.i18n.labels import t
    from rapport.store import customers, session_scope
    from rapport.store.loyalty import TIER_NAMES
    from rapport.store.loyalty_tiers import tier_card
    from rapport.store.repository import utcnow

    settings = get_settings()
    locale = settings.locale
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            customers.repo.get(session=session, id=customer)
            card = tier_card(
                session,
                customer_id=customer,
                rules=load_rules(settings),
                at=utcnow(),
                tz=settings.tz,
            )
    finally:
        engine.dispose()
    if card is None:
        console.print(t("loyalty.not_member", locale).format(customer=customer))
        return
    if output != OutputFormat.table:
        emit([card], [Column(k, k) for k in card], output, locale=locale, key="tier")
        return
    zh = locale == "zh_CN"

    def name(tier: dict[str, Any] | None) -> str:
        return "—" if tier is None else tier["name_zh" if zh else "name_en"]

    basis = t(f"loyalty.basis_{card['basis']}", locale)
    perks = card["benefits"]
    floor = card["floor_tier"]
    if floor is not None:
        floor = TIER_NAMES.get(floor, (floor, floor))[0 if zh else 1]
    tier_name = name(card["tier"])
    if not card["evaluated"]:
        tier_name += t("loyalty.not_evaluated", locale)
    items = [
        ("tier", tier_name),
        ("tier_since", card["since"].isoformat()),
        ("review_on", card["review_on"].isoformat()),
        ("grace_until", card["grace_until"].isoformat() if card["grace_until"] else "—"),
        ("basis_value", f"{card['basis_value']:,}"),
        ("next_tier", name(card["next_tier"])),
        ("to_next_tier", "—" if card["to_next_tier"] is None else f"{card['to_next_tier']:,}"),
        ("value_tier_floor", floor),
        ("earn_multiplier", f"× {perks['earn_multiplier']:g}"),
        ("sla_priority", label(TicketPriority(perks["sla_priority"]), locale)),
        ("gifts", ("、" if zh else ", ").join(perks["gifts"])),
    ]
    rows = [
        {
            "field": t(f"loyalty.{key}", locale).format(months=card["window_months"], basis=basis),
            "value": value or "—",
        }
        for key, value in items
    ]
    emit(
        rows,
        [Column("field", t("loyalty.field", locale)), Column("value", t("loyalty.value", locale))],
        output,
        title=t("loyalty.tier_title", locale).format(customer=customer),
        locale=locale,
        key="tier",
    )
