"""How the snapshot reports read a snapshot on SQLite: from the index of its narrow columns
(``ix_customer_scores_as_of_reports``), never the score rows themselves, which carry
the ``components`` document (~1.4 kB a customer); the diamonds list reads the rows of its
diamonds alone (SQLite's query plan; the reports' figures are tested in
test_snapshot_reports.py, test_analysis.py and test_overview.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.config import load_rules
from rapport.domain import Role
from rapport.reports import analysis, overview, snapshots
from tests.helpers import statement_plans

DAY = dt.date(2026, 11, 30)
BEFORE = dt.date(2026, 10, 31)
INDEX = "ix_customer_scores_as_of_reports"
RULES = load_rules()

#: The reports that read nothing but the index, each as called with a scope.
INDEX_ONLY: dict[str, Callable[[Session, CustomerScope | None], object]] = {
    **{
        f"group_summary[{by}]": (
            lambda s, scope, by=by: snapshots.group_summary(
                s, by=by, day=DAY, rules=RULES, scope=scope
            )
        )
        for by in snapshots.GROUPINGS
    },
    **{
        f"movements[{by}]": (
            lambda s, scope, by=by: snapshots.movements(
                s, by=by, before=BEFORE, after=DAY, scope=scope
            )
        )
        for by in snapshots.GROUPINGS
    },
    "rfm_grid": lambda s, scope: analysis.rfm_grid(s, day=DAY, scope=scope),
    "degree_correlations": lambda s, scope: analysis.degree_correlations(s, day=DAY, scope=scope),
    "degree_chain": lambda s, scope: analysis.degree_chain(s, day=DAY, scope=scope),
    "snapshot_history": lambda s, scope: overview.snapshot_history(
        s, scope=scope, days=[BEFORE, DAY]
    ),
}

SCOPES = {
    "admin": None,
    "analyst": Principal(6, "analyst", Role.ANALYST, None, "login"),
    "manager": Principal(7, "manager", Role.MANAGER, "east", "login"),
    "sales": Principal(8, "sales", Role.SALES, "east", "login"),
}


def score_plans(engine: Engine, read: Callable[[Session], object]) -> list[tuple[str, str]]:
    """Each statement ``read`` runs that reads ``customer_scores``, with SQLite's plan of
    it (its own parameters bound)."""
    return [
        (sql, shown) for sql, shown in statement_plans(engine, read) if "customer_scores" in sql
    ]


def scope_of(who: str) -> CustomerScope | None:
    principal = SCOPES[who]
    return None if principal is None else CustomerScope(principal)


@pytest.mark.parametrize("who", list(SCOPES))
@pytest.mark.parametrize("report", list(INDEX_ONLY))
def test_snapshot_reports_read_the_index_alone(
    sqlite_engine: Engine, report: str, who: str
) -> None:
    found = score_plans(sqlite_engine, lambda s: INDEX_ONLY[report](s, scope_of(who)))
    assert found
    for sql, shown in found:
        covered = f"SEARCH customer_scores USING COVERING INDEX {INDEX} (as_of=?)"
        assert covered in shown, (sql, shown)
        assert "SCAN customer_scores" not in shown, (sql, shown)


@pytest.mark.parametrize("who", list(SCOPES))
@pytest.mark.parametrize("order", snapshots.DIAMOND_ORDERS)
def test_the_diamonds_list_reads_the_diamonds_alone(
    sqlite_engine: Engine, order: str, who: str
) -> None:
    """Its count from the index alone, its page from the diamonds' range of the index (the
    reasons need each listed diamond's ``components``), not every row of the snapshot."""
    found = score_plans(
        sqlite_engine,
        lambda s: snapshots.diamonds(
            s, day=DAY, rules=RULES, locale="en", scope=scope_of(who), order=order
        ),
    )
    assert len(found) == 2, found
    (_, count), (_, page) = found
    assert f"USING COVERING INDEX {INDEX} (as_of=? AND value_tier=?)" in count, count
    assert f"SEARCH customer_scores USING INDEX {INDEX} (as_of=? AND value_tier=?)" in page, page


@pytest.mark.parametrize("who", list(SCOPES))
@pytest.mark.parametrize("report", list(INDEX_ONLY))
def test_a_report_of_every_customer_reads_the_deleted_ones_alone(
    sqlite_engine: Engine, report: str, who: str
) -> None:
    """An admin's and an analyst's reports read the deleted customers once, from their
    partial index, where a scope of some customers looks up each row's customer for its
    owner (the figures are compared with and without a deleted customer in
    test_snapshot_reports.py, test_analysis.py and test_overview.py)."""
    every = SCOPES[who] is None or SCOPES[who].role is Role.ANALYST
    for sql, shown in score_plans(sqlite_engine, lambda s: INDEX_ONLY[report](s, scope_of(who))):
        looked_up = "SEARCH customers USING INTEGER PRIMARY KEY (rowid=?)" in shown
        assert looked_up is not every, (sql, shown)
        assert ("SCAN customers USING INDEX ix_customers_deleted" in shown) is every, (sql, shown)
