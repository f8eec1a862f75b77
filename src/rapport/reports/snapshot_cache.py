"""What a page reads of a score snapshot, kept while nothing it depends on has changed.

A snapshot's reports (:mod:`rapport.reports.snapshots`, :mod:`rapport.reports.analysis`)
are the same for every request until a snapshot is written again or the customers they
cover change, yet each takes a scan of the snapshot — tens to hundreds of milliseconds at
20,000 customers. :func:`memo` keeps a report's result in the process and hands it out
again while its *key* holds:

* the store (its URL, password hidden) and the report with its arguments;
* the snapshot's identity: its date and the ``computed_at`` of its rows (a snapshot is
  written whole, :func:`rapport.store.scores.replace_snapshot`, so a new one — even of the
  same date — has a new time);
* the state of the customers: the highest id (a new customer) and the latest
  ``updated_at`` (every write of a customer through the store sets it: a new owner,
  consent, a soft delete, an erasure, an import), both read down an index;
* who asks, as far as it decides the rows and whether they are masked: every customer
  (admins, analysts); for a manager, the users of their team (themselves, without one)
  who own customers, read down the index on the owner, as the unowned customers and
  theirs are the manager's rows (a user who joins or leaves the team with customers
  changes it; one who owns none, a new password or name does not); else the user; and
  masked or not (analysts) — one scope's rows are never handed to another, while every
  admin shares one result, and so does every manager whose team owns the same customers
  (every manager of a team, and the managers of teams that own none: the unowned ones).

The key is read from the store on every call (three small queries), so several uvicorn
workers, each with its own memo, agree with the store and with each other; nothing expires
by time. A service agent's scope follows the tickets assigned to them, which the key does
not follow: their reports are never kept. Results are handed out as copies, so a caller
may change what it gets.

Behind the process's memo is the store's (:mod:`rapport.store.kept_reports`): a result
missing here is looked up there by its key's digest, and one computed here is written
there, as JSON (:func:`encode`; a result is written only when :func:`decode` gives it back
equal), so a report computed once — by the scoring run right after the snapshot
(:mod:`rapport.reports.prepared`), or by another process — is read by every process after
it, a restarted one included.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import decimal
import functools
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.config import Rules
from rapport.domain import Role, ValueTier
from rapport.reports import analysis as distributions
from rapport.reports import movers, overview, snapshots
from rapport.store import kept_reports, schema
from rapport.store.db import engine_of
from rapport.store.paging import PageRequest
from rapport.store.scores import snapshot_dates

if TYPE_CHECKING:
    from rapport.reports.mirror import Mirror

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

#: Results kept per process, the least recently used dropped first.
MAX_ENTRIES = 256

_s = schema.customer_scores.c
_c = schema.customers.c
_u = schema.users.c
_lock = threading.Lock()
_kept: OrderedDict[tuple[Hashable, ...], Any] = OrderedDict()
_rules: dict[int, tuple[Any, str]] = {}


def _who(
    session: Session, scope: CustomerScope | None, *, names: bool = True
) -> tuple[Hashable, ...] | None:
    """Who asks, as the key holds it (``None``: not kept): the rows the scope draws and,
    for a report that ``names`` customers, whether they are masked — so principals who see
    the same rows the same way share a result (every admin: all rows; every analyst: all
    rows, masked; every manager of one team: the team's and the unowned) and nobody else
    does. A report naming nobody (counts, sums, means) is the same masked or not: admins
    and analysts share it."""
    if scope is None:
        return ("everyone",)
    p = scope.principal
    if p.role is Role.SERVICE:
        return None
    rows = rows_key(session, p)
    return (*rows, scope.masked and names, type(scope).__name__, _extra(scope))


def rows_key(session: Session, p: Principal) -> tuple[Hashable, ...]:
    """The customers a principal's :class:`~rapport.access.CustomerScope` draws, as a key:
    ``("all",)`` for a role that sees every customer; for a manager, ``("managed", *ids)``:
    the scope is the unowned customers and those of the team's users (the manager alone,
    without a team; :func:`rapport.access.owner_clause`), so ``ids`` are those users who
    own a customer (one who owns none adds no row); else the role and the user."""
    if CustomerScope(p).clause() is None:  # the owner rule of rapport.access
        return ("all",)
    if p.role is Role.MANAGER:
        members = _u.id == p.user_id if p.team is None else _u.team == p.team
        owns = sa.select(sa.literal(1)).where(_c.owner_id == _u.id).exists()  # one step each
        owning = sa.select(_u.id).where(members, owns).order_by(_u.id)
        return ("managed", *session.execute(owning).scalars())
    return (p.role.value, p.user_id)


def _extra(scope: CustomerScope) -> tuple[Hashable, ...]:
    """A narrowed scope's own fields (an owner's customers of the worklist): every field
    but the principal, so two narrowings never share a key."""
    fields = getattr(scope, "__dataclass_fields__", {})
    return tuple((name, getattr(scope, name)) for name in sorted(fields) if name != "principal")


def _latest(c: Any) -> sa.Select[Any]:
    """The highest id and the latest ``updated_at`` of a table: each its own sub-select, so
    each is one step down an index (the primary key, ``ix_<table>_updated_at``) rather
    than a scan."""
    return sa.select(
        sa.select(sa.func.max(c.id)).scalar_subquery(),
        sa.select(sa.func.max(c.updated_at)).scalar_subquery(),
    )


def customers_state(session: Session) -> tuple[Hashable, ...]:
    """The customers' highest id and latest ``updated_at`` (see the module): what a key
    reads of the customers."""
    return tuple(session.execute(_latest(_c)).one())


def written(session: Session, day: Any) -> str | None:
    """When the snapshot dated ``day`` was written (its rows' ``computed_at``, as text;
    ``None``: there is no such snapshot): one step down the index on ``as_of``."""
    found = session.execute(
        sa.select(_s.computed_at).where(_s.as_of == day).limit(1)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def state(
    session: Session, day: Any, scope: CustomerScope | None, *, names: bool = True
) -> tuple[Hashable, ...] | None:
    """The key of the store's state a report of the snapshot dated ``day`` for ``scope``
    depends on (see the module; ``names``: whether the report names customers, see
    :func:`_who`); ``None`` when such a report is not kept (no snapshot of that date, or a
    service agent's scope)."""
    who = _who(session, scope, names=names)
    if who is None or day is None:
        return None
    computed = written(session, day)
    if computed is None:
        return None
    customers = customers_state(session)
    store = session.get_bind().engine.url.render_as_string(hide_password=True)
    return (store, str(day), computed, *map(str, customers), *who)


#: The fields of :func:`state`'s key that make a snapshot report's *generation* in the
#: store (the date, the snapshot's ``computed_at``, the customers' highest id and latest
#: ``updated_at``): a row of another generation of the date is stale. The first field,
#: the store's URL, is left out of what the store keeps: the rows are in that store, and
#: two processes may name it differently.
GENERATION = slice(1, 5)


def digest(value: Any) -> str:
    """The SHA-256 (hex) of ``value``'s ``repr``: a key of the store's kept reports."""
    return hashlib.sha256(repr(value).encode("utf-8")).hexdigest()


def _keep(key: tuple[Hashable, ...], result: Any) -> None:
    with _lock:
        _kept[key] = copy.deepcopy(result)
        while len(_kept) > MAX_ENTRIES:
            _kept.popitem(last=False)


def memo(
    session: Session,
    *,
    day: Any,
    scope: CustomerScope | None,
    report: tuple[Hashable, ...],
    compute: Callable[[Session], T],
    names: bool = True,
    mirror: Mirror | None = None,
    dates: tuple[Any, ...] | None = None,
) -> T:
    """``compute(session)`` — a report of the snapshot dated ``day`` for ``scope`` — or a
    copy of its result kept under the same key, in the process or in the store (see the
    module).

    Parameters
    ----------
    report
        The report and every argument it takes besides the session, the day and the scope
        (the grouping, the locale, the limit, the order …): two calls with the same
        ``report`` must compute the same thing. Its first item names it.
    compute
        The report read from the session it is given.
    names
        Whether the result names customers (a list): then a masked scope's result is its
        own; an aggregate is shared by the masked and the unmasked scopes of the same rows.
    mirror
        A copy of what the report reads (:class:`rapport.reports.mirror.Mirror`): a
        result to keep is computed there instead of in the store when the copy still
        holds the snapshots it reads, ``dates`` (default: ``day``), and the customers and
        users the key was read with (:meth:`~rapport.reports.mirror.Mirror.holds`, read
        after the key: what changed before is in the key, so a copy made before the change
        is not used).
    """
    found = state(session, day, scope, names=names)
    if found is None:
        return compute(session)
    key = (*found, *report)
    with _lock:
        if key in _kept:
            _kept.move_to_end(key)
            return copy.deepcopy(_kept[key])
    stored = kept_reports.read(session, _stored_key(key))
    if stored is not None:
        result: T = decode(stored)
        _keep(key, result)
        return result
    if mirror is not None and mirror.holds(session, dates or (day,)):
        with mirror.session() as source:
            result = compute(source)
    else:
        result = compute(session)
    _keep(key, result)
    _store(session, key, day=day, report=report, result=result)
    return result


def _stored_key(key: tuple[Hashable, ...]) -> str:
    """The store's key of a report kept under ``key`` (without the store's URL: see
    :data:`GENERATION`)."""
    return digest(key[1:])


def _store(
    session: Session,
    key: tuple[Hashable, ...],
    *,
    day: Any,
    report: tuple[Hashable, ...],
    result: Any,
) -> bool:
    """Keep ``result``, the report kept under ``key``, in the store (when JSON holds it);
    whether it was kept."""
    payload = encode(result)
    if payload is None:
        return False
    return kept_reports.keep(
        engine_of(session),
        key=_stored_key(key),
        as_of=dt.date.fromisoformat(str(day)),
        report=str(report[0])[:64],
        generation=digest(key[GENERATION]),
        payload=payload,
    )


# --- results as JSON ----------------------------------------------------------------------------
# JSON has no dates, decimals, tuples or report classes: each is an object of one tagged
# member, and a report's own objects never have a key starting with "$".

_CLASSES: dict[str, type] = {"CustomerList": snapshots.CustomerList}


def _tagged(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, tuple):
        return {"$tuple": [_tagged(v) for v in value]}
    if isinstance(value, list):
        return [_tagged(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) and not k.startswith("$") for k in value):
            raise TypeError("a report's mapping with a key JSON cannot hold as it is")
        return {k: _tagged(v) for k, v in value.items()}
    name = type(value).__name__
    if _CLASSES.get(name) is type(value) and dataclasses.is_dataclass(value):
        fields = {f.name: _tagged(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {f"${name}": fields}
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return value
    raise TypeError(f"a report's {name} cannot be kept as JSON")


def _untagged(found: dict[str, Any]) -> Any:
    if len(found) == 1:
        ((tag, value),) = found.items()
        if tag == "$datetime":
            return dt.datetime.fromisoformat(value)
        if tag == "$date":
            return dt.date.fromisoformat(value)
        if tag == "$decimal":
            return decimal.Decimal(value)
        if tag == "$tuple":
            return tuple(value)
        cls = _CLASSES.get(tag[1:]) if tag.startswith("$") else None
        if cls is not None:
            return cls(**value)
    return found


def encode(result: Any) -> str | None:
    """``result`` as JSON that :func:`decode` turns back into an equal result; ``None``
    when it cannot be (a type JSON cannot hold, a NaN): such a result is kept in the
    process only."""
    try:
        text = json.dumps(_tagged(result), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return text if decode(text) == result else None


def decode(text: str) -> Any:
    """The result :func:`encode` wrote."""
    return json.loads(text, object_hook=_untagged)


def rules_key(rules: Rules) -> str:
    """A digest of the business rules ``rules`` (a report's tier reasons and group order
    follow them), for a ``report`` key; worked out once per rules object."""
    with _lock:
        found = _rules.get(id(rules))
        if found is not None and found[0] is rules:
            return found[1]
    digest = hashlib.sha256(rules.model_dump_json().encode("utf-8")).hexdigest()
    with _lock:
        _rules[id(rules)] = (rules, digest)  # held, so its id is not reused meanwhile
        while len(_rules) > MAX_ENTRIES:
            _rules.pop(next(iter(_rules)))
    return digest


# --- the reports, kept ------------------------------------------------------------------------
# Each takes the arguments of the report it keeps and returns what that report returns.


def group_summary(
    session: Session,
    *,
    by: str,
    day: dt.date,
    rules: Rules,
    scope: CustomerScope | None = None,
    mirror: Mirror | None = None,
) -> list[dict[str, Any]]:
    """:func:`rapport.reports.snapshots.group_summary`, kept (computed on ``mirror`` when it
    holds the snapshot: see :func:`memo`)."""
    return memo(
        session,
        day=day,
        scope=scope,
        report=("group_summary", by, rules_key(rules)),
        names=False,
        compute=lambda source: snapshots.group_summary(
            source, by=by, day=day, rules=rules, scope=scope
        ),
        mirror=mirror,
    )


def movements(
    session: Session,
    *,
    by: str,
    before: dt.date,
    after: dt.date,
    scope: CustomerScope | None = None,
    mirror: Mirror | None = None,
) -> list[dict[str, Any]]:
    """:func:`rapport.reports.snapshots.movements`, kept (under the later snapshot's key
    and the earlier one's date and time; computed on ``mirror`` when it holds both
    snapshots)."""
    earlier = written(session, before)
    return memo(
        session,
        day=after,
        scope=scope,
        report=("movements", by, str(before), str(earlier)),
        names=False,
        compute=lambda source: snapshots.movements(
            source, by=by, before=before, after=after, scope=scope
        ),
        mirror=mirror,
        dates=(before, after),
    )


def tier_mover_counts(
    session: Session,
    *,
    tier: ValueTier,
    before: dt.date,
    after: dt.date,
    scope: CustomerScope | None = None,
    mirror: Mirror | None = None,
) -> dict[str, int]:
    """:func:`rapport.reports.movers.tier_mover_counts`, kept (under the later snapshot's
    key and the earlier one's date and time; computed on ``mirror`` when it holds both
    snapshots)."""
    return memo(
        session,
        day=after,
        scope=scope,
        report=("tier_mover_counts", tier.value, str(before), str(written(session, before))),
        compute=lambda source: movers.tier_mover_counts(
            source, tier=tier, before=before, after=after, scope=scope
        ),
        names=False,
        mirror=mirror,
        dates=(before, after),
    )


def tier_movers(
    session: Session,
    *,
    tier: ValueTier,
    before: dt.date,
    after: dt.date,
    rules: Rules,
    locale: str,
    scope: CustomerScope | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """:func:`rapport.reports.movers.tier_movers`, kept (under the later snapshot's key and
    the earlier one's date and time)."""
    found = tier_movers_in(
        session,
        tier=tier,
        before=before,
        after=after,
        rules=rules,
        locales=(locale,),
        scope=scope,
        limits=(limit,),
    )
    return found[locale, limit]


def tier_movers_in(
    session: Session,
    *,
    tier: ValueTier,
    before: dt.date,
    after: dt.date,
    rules: Rules,
    locales: tuple[str, ...],
    scope: CustomerScope | None = None,
    limits: tuple[int, ...] = (100,),
) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """:func:`tier_movers` of each ``(locale, limit)``, each kept under its own key; those
    not kept yet are computed together, from one read of the snapshots
    (:func:`rapport.reports.movers.tier_movers_in`)."""
    earlier = written(session, before)
    computed = functools.cache(
        lambda: movers.tier_movers_in(
            session,
            tier=tier,
            before=before,
            after=after,
            rules=rules,
            locales=locales,
            scope=scope,
            limits=limits,
        )
    )
    report = ("tier_movers", tier.value, str(before), str(earlier), rules_key(rules))
    return {
        (locale, limit): memo(
            session,
            day=after,
            scope=scope,
            report=(*report, locale, limit),
            compute=functools.partial(_pick, computed, (locale, limit)),
        )
        for locale in locales
        for limit in limits
    }


def _pick(computed: Callable[[], Mapping[K, T]], key: K, _source: Session) -> T:
    """The report kept under ``key`` among those ``computed()`` gives (which reads the
    session it was made with)."""
    return computed()[key]


def diamonds(
    session: Session,
    *,
    day: dt.date,
    rules: Rules,
    locale: str,
    limit: int = 50,
    scope: CustomerScope | None = None,
    marketable_only: bool | None = None,
    order: str = "revenue",
    page: PageRequest | None = None,
) -> snapshots.CustomerList:
    """:func:`rapport.reports.snapshots.diamonds`, kept."""
    return diamonds_in(
        session,
        day=day,
        rules=rules,
        locales=(locale,),
        limit=limit,
        scope=scope,
        marketable_only=marketable_only,
        order=order,
        page=page,
    )[locale]


def diamonds_in(
    session: Session,
    *,
    day: dt.date,
    rules: Rules,
    locales: tuple[str, ...],
    limit: int = 50,
    scope: CustomerScope | None = None,
    marketable_only: bool | None = None,
    order: str = "revenue",
    page: PageRequest | None = None,
) -> dict[str, snapshots.CustomerList]:
    """:func:`diamonds` in each of ``locales``, each kept under its own key; those not
    kept yet are computed together, from one read of the snapshot
    (:func:`rapport.reports.snapshots.diamonds_in`)."""
    computed = functools.cache(
        lambda: snapshots.diamonds_in(
            session,
            day=day,
            rules=rules,
            locales=locales,
            limit=limit,
            scope=scope,
            marketable_only=marketable_only,
            order=order,
            page=page,
        )
    )
    return {
        locale: memo(
            session,
            day=day,
            scope=scope,
            report=("diamonds", rules_key(rules), locale, limit, marketable_only, order, page),
            compute=functools.partial(_pick, computed, locale),
        )
        for locale in locales
    }


def churn_warnings(
    session: Session,
    *,
    day: dt.date,
    limit: int = 50,
    min_risk: float = 0.5,
    scope: CustomerScope | None = None,
    marketable_only: bool | None = None,
    page: PageRequest | None = None,
) -> snapshots.CustomerList:
    """:func:`rapport.reports.snapshots.churn_warnings`, kept."""
    return memo(
        session,
        day=day,
        scope=scope,
        report=_warnings_report(limit, min_risk, marketable_only, page),
        compute=lambda source: snapshots.churn_warnings(
            source,
            day=day,
            limit=limit,
            min_risk=min_risk,
            scope=scope,
            marketable_only=marketable_only,
            page=page,
        ),
    )


def _warnings_report(
    limit: int, min_risk: float, marketable_only: bool | None, page: PageRequest | None
) -> tuple[Hashable, ...]:
    return ("churn_warnings", limit, min_risk, marketable_only, page)


def put_owners_churn_warnings(
    session: Session,
    *,
    day: dt.date,
    limit: int,
    min_risk: float,
    scopes: Callable[[int], list[CustomerScope]],
) -> int:
    """Keep in the store the first page of :func:`churn_warnings` (``limit`` rows, from
    ``min_risk``) of every owner of customers, for each of ``scopes(owner)`` — scopes that
    each draw that owner's customers alone, unmasked — so that the first :func:`churn_warnings`
    of each reads it. What the store lacks is computed in one pass
    (:func:`rapport.reports.snapshots.churn_warnings_by_owner`); when it lacks nothing (a
    server's warm-up after the scoring run prepared them), nothing is computed. The
    process's memory is left to :func:`memo`: hundreds of scopes would push out what its
    pages read. Returns the lists asked for."""
    report = _warnings_report(limit, min_risk, None, None)
    owners = session.execute(
        sa.select(_c.owner_id).where(_c.owner_id.is_not(None)).group_by(_c.owner_id)
    ).scalars()
    asked = 0
    missing: list[tuple[int, tuple[Hashable, ...]]] = []
    for owner in owners:
        for scope in scopes(owner):
            found = state(session, day, scope)
            if found is None:
                continue
            asked += 1
            key = (*found, *report)
            if kept_reports.read(session, _stored_key(key)) is None:
                missing.append((owner, key))
    if missing:
        lists = snapshots.churn_warnings_by_owner(session, day=day, limit=limit, min_risk=min_risk)
        for owner, key in missing:
            result = lists.get(owner, snapshots.CustomerList(as_of=day))
            _store(session, key, day=day, report=report, result=result)
    return asked


def rfm_grid(
    session: Session,
    *,
    day: dt.date,
    scope: CustomerScope | None = None,
    mirror: Mirror | None = None,
) -> list[dict[str, Any]]:
    """:func:`rapport.reports.analysis.rfm_grid`, kept (computed on ``mirror`` when it holds the
    snapshot)."""
    return memo(
        session,
        day=day,
        scope=scope,
        report=("rfm_grid",),
        names=False,
        compute=lambda source: distributions.rfm_grid(source, day=day, scope=scope),
        mirror=mirror,
    )


def clv_distribution(
    session: Session,
    *,
    day: dt.date,
    scope: CustomerScope | None = None,
    bins: int = distributions.CLV_BINS,
    mirror: Mirror | None = None,
) -> list[dict[str, Any]]:
    """:func:`rapport.reports.analysis.clv_distribution`, kept (computed on ``mirror`` when
    it holds the snapshot)."""
    return memo(
        session,
        day=day,
        scope=scope,
        report=("clv_distribution", bins),
        names=False,
        compute=lambda source: distributions.clv_distribution(
            source, day=day, scope=scope, bins=bins
        ),
        mirror=mirror,
    )


def degree_correlations(
    session: Session,
    *,
    day: dt.date,
    scope: CustomerScope | None = None,
    mirror: Mirror | None = None,
) -> list[dict[str, Any]]:
    """:func:`rapport.reports.analysis.degree_correlations`, kept (computed on ``mirror``
    when it holds the snapshot)."""
    return memo(
        session,
        day=day,
        scope=scope,
        report=("degree_correlations",),
        names=False,
        compute=lambda source: distributions.degree_correlations(source, day=day, scope=scope),
        mirror=mirror,
    )


def snapshot_history(
    session: Session,
    *,
    day: dt.date,
    scope: CustomerScope | None = None,
    mirror: Mirror | None = None,
) -> list[dict[str, Any]]:
    """:func:`rapport.reports.overview.snapshot_history` of the latest
    :data:`~rapport.reports.overview.HISTORY_SNAPSHOTS` snapshots (the latest dated
    ``day``), kept under the date and ``computed_at`` of each of them: an earlier snapshot
    written again changes the figures too (computed on ``mirror`` when it holds every one
    of them)."""
    days = history_dates(session)
    each = tuple((str(d), str(written(session, d))) for d in days)
    return memo(
        session,
        day=day,
        scope=scope,
        report=("snapshot_history", each),
        names=False,
        compute=lambda source: overview.snapshot_history(source, scope=scope, days=days),
        mirror=mirror,
        dates=tuple(days),
    )


def history_dates(session: Session, *, adding: dt.date | None = None) -> list[dt.date]:
    """The dates of the snapshots the overview's history reads
    (:data:`~rapport.reports.overview.HISTORY_SNAPSHOTS`, the latest), oldest first; with
    ``adding``, as they will be once a snapshot of that date is written."""
    days = set(snapshot_dates(session=session))
    if adding is not None:
        days.add(adding)
    return sorted(days)[-overview.HISTORY_SNAPSHOTS :]


def clear(engine: Engine | None = None) -> None:
    """Forget every result kept in the process, and with ``engine`` every one kept in its
    store too."""
    with _lock:
        _kept.clear()
    if engine is not None:
        with engine.begin() as conn:
            kept_reports.forget(conn)


__all__ = [
    "MAX_ENTRIES",
    "churn_warnings",
    "clear",
    "clv_distribution",
    "degree_correlations",
    "diamonds",
    "diamonds_in",
    "group_summary",
    "history_dates",
    "memo",
    "movements",
    "put_owners_churn_warnings",
    "rfm_grid",
    "rows_key",
    "rules_key",
    "snapshot_history",
    "state",
    "tier_mover_counts",
    "tier_movers",
    "tier_movers_in",
]
