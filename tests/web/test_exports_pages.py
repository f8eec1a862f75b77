"""Downloads of the overview's monthly series and value at risk, and of the analysis page's
model accuracy, clusters' demographics and candidate numbers of clusters.

Each file's rows are what the page's product function returns (``metric_overview``'s
series, ``snapshot_history``, ``saved_models``, ``cluster_summary``), the link is beside
the table on the page, an analyst's file is theirs (figures naming nobody: the same as a
manager's, never audited), and the roles the page refuses are refused the file.

The Admin page's API tokens (never a secret, admins only) and the worklist's diamonds (the
owner picked, a sales user's own, audited as the export it is) likewise.

It reuses the web store copy and the logged-in clients of ``test_exports``.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.access import CustomerScope
from rapport.actions.effect_report import effect_in_session
from rapport.actions.playbook_registry import overview
from rapport.analytics.metrics import METRICS
from rapport.analytics.periods import day_end
from rapport.config import Settings, load_rules
from rapport.domain import AuditAction
from rapport.i18n.playbooks import text as pt
from rapport.models.clusters import cluster_summary, demography_grid
from rapport.models.registry import ModelRegistry
from rapport.reports import analysis as distributions
from rapport.reports import overview as figures
from rapport.reports import snapshots
from rapport.reports.prepared import latest_snapshot
from rapport.reports.worklist import owned_by
from rapport.store import tokens, users
from rapport.store.db import begin_writing, create_engine
from rapport.web.views import admin as admin_view
from tests.helpers import audit_entries
from tests.web import test_exports as shared
from tests.web.test_exports import Site, column, parse_csv, parse_xlsx, zh

# the web store copy and the logged-in clients of test_exports, as this module's fixtures
site = shared.site
clients = shared.clients

#: Seconds the first metrics download may take (a worker process starts the engine).
ENGINE_SECONDS = 300


def _both(client: httpx.Client, table: str, query: str = "") -> tuple[list[list[Any]], ...]:
    suffix = f"?{query}" if query else ""
    return (
        parse_csv(client.get(f"/exports/{table}.csv{suffix}", timeout=ENGINE_SECONDS)),
        parse_xlsx(client.get(f"/exports/{table}.xlsx{suffix}", timeout=ENGINE_SECONDS)),
    )


def _numbers(values: list[Any]) -> list[float | None]:
    return [None if v in ("", None) else float(v) for v in values]


def _settings(site: Site) -> Settings:
    return Settings(_env_file=None, database_url=site.url, data_dir=_root(site) / "data")


def _root(site: Site) -> Path:
    return Path(site.url.removeprefix("sqlite:///")).parent


def _exports_audited(site: Site) -> int:
    return len(audit_entries(create_engine(site.url), AuditAction.EXPORT))


# --- the overview -------------------------------------------------------------------------


def test_the_trends_export_is_every_monthly_series_of_the_period(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    settings = _settings(site)
    with site.session() as session:
        latest, _ = figures.snapshot_days(session)
    assert latest is not None
    result = figures.metric_overview(
        settings, load_rules(), as_of=day_end(latest, settings.tz), period="12m"
    )
    ids = list(dict.fromkeys((*figures.TRENDS, *figures.HEADLINE)))
    audited = _exports_audited(site)
    for found in _both(clients["analyst"], "trends", "period=12m"):
        months = [str(v)[:10] for v in column(found, zh("overview.month"))]
        assert months == [
            m["start"].replace(tzinfo=dt.UTC).astimezone(settings.tz).date().isoformat()
            for m in result["months"]
        ]
        assert len(months) >= 12
        for m in ids:
            unit = zh(f"exports.unit_{METRICS[m].unit}")
            heading = f"{METRICS[m].label_zh} ({unit})"
            assert _numbers(column(found, heading)) == pytest.approx(result["series"][m]), m
    assert _exports_audited(site) == audited  # figures name nobody
    fragment = clients["manager"].get(
        "/overview/metrics", params={"period": "12m"}, timeout=ENGINE_SECONDS
    )
    assert 'href="/exports/trends.xlsx?period=12m"' in fragment.text


def test_the_value_at_risk_export_is_the_snapshot_history(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    with site.session() as session:
        history = figures.snapshot_history(session, scope=CustomerScope(site.principal("manager")))
        everyone = figures.snapshot_history(session)
    assert len(history) >= 2 and any(h["valued"] for h in history)
    assert [h["value_at_risk"] for h in history] != [h["value_at_risk"] for h in everyone]
    level = "50%"
    for found in _both(clients["manager"], "value-at-risk"):
        days = [str(v)[:10] for v in column(found, zh("overview.snapshot_date"))]
        assert days == [h["as_of"].isoformat() for h in history]
        assert [int(v) for v in column(found, zh("exports.valued"))] == [
            h["valued"] for h in history
        ]
        assert _numbers(column(found, zh("value_at_risk"))) == pytest.approx(
            [float(h["value_at_risk"]) if h["valued"] else None for h in history]
        )
        assert _numbers(column(found, zh("exports.var_share"))) == pytest.approx(
            [h["share"] if h["valued"] else None for h in history]
        )
        heading = zh("exports.at_risk_count").format(level=level)
        assert [int(v) for v in column(found, heading)] == [h["at_risk"] for h in history]
    fragment = clients["manager"].get("/overview/relationships").text
    assert 'href="/exports/value-at-risk.csv"' in fragment


def test_the_overviews_diamond_lists_link_to_their_downloads(
    clients: dict[str, httpx.Client],
) -> None:
    text = clients["analyst"].get("/overview/diamonds").text
    assert 'href="/exports/diamonds.csv"' in text
    assert 'href="/exports/diamond-movers.csv"' in text
    answer = clients["analyst"].get("/exports/diamond-movers.csv")
    assert answer.status_code == 200


# --- the analysis page --------------------------------------------------------------------


def test_the_accuracy_export_is_the_saved_models(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    settings = _settings(site)
    registry = ModelRegistry(Path(settings.data_dir) / "models")
    fitted = dt.datetime(2026, 11, 30, 18, 5, tzinfo=dt.UTC)
    registry.save(
        "bgnbd",
        {"params": {"r": 0.2}},
        data={"customers": 2_345, "moment": "2026-11-30T16:00:00"},
        metrics={"log_likelihood": -9_876.54},
        now=fitted,
    )
    registry.save("churn", {"training": {"rows": 1_234}}, now=fitted)
    saved = distributions.saved_models(settings)
    assert [m["kind"] for m in saved] == ["bgnbd", "churn"]
    for found in _both(clients["analyst"], "accuracy"):
        assert column(found, zh("analysis.model")) == [
            zh(f"analysis.model.{m['kind']}") for m in saved
        ]
        assert [int(v) for v in column(found, zh("analysis.model_rows"))] == [
            m["customers"] for m in saved
        ]
        assert _numbers(column(found, zh("analysis.log_likelihood"))) == pytest.approx(
            [m["metrics"].get("log_likelihood") for m in saved]
        )
        fitted_at = [str(v)[:16] for v in column(found, zh("analysis.fitted_at"))]
        local = fitted.astimezone(settings.tz).replace(tzinfo=None)
        assert fitted_at == [local.isoformat(sep=" ")[:16]] * 2
        # the data end at 16:00 UTC of the 30th: the 30th is its last day (Shanghai: 1 Dec 0:00)
        assert [str(v)[:10] if v else "" for v in column(found, zh("analysis.data_as_of"))] == [
            "2026-11-30",
            "",
        ]
    assert 'href="/exports/accuracy.csv"' in clients["manager"].get("/analysis/accuracy").text


def test_the_cluster_demographics_and_scores_are_the_cluster_summary(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    settings = _settings(site)
    with site.session() as session:
        latest, _ = figures.snapshot_days(session)
    found = cluster_summary(settings, as_of=latest)
    assert found is not None
    k = len(found["clusters"])
    expected = []
    for name, rows in found["demographics"].items():
        values, grid = demography_grid(rows, k, name=name)
        expected += [(c, name, grid[c][i]) for c in range(k) for i in range(len(values))]
    assert expected
    for rows in _both(clients["analyst"], "cluster-demographics"):
        assert column(rows, zh("cluster")) == [f"第 {c + 1} 类" for c, _, _ in expected]
        assert column(rows, zh("exports.demographic")) == [zh(n) for _, n, _ in expected]
        assert _numbers(column(rows, zh("customer_share"))) == pytest.approx(
            [s for _, _, s in expected]
        )
    scores = list(found["silhouettes"].items())
    criterion = zh(f"analysis.criterion_{found['criterion']}")
    for rows in _both(clients["manager"], "cluster-scores"):
        assert [int(v) for v in column(rows, zh("exports.clusters_k"))] == [
            int(k) for k, _ in scores
        ]
        assert _numbers(column(rows, criterion)) == pytest.approx([s for _, s in scores])
        outcome = column(rows, zh("exports.clusters_choice"))
        assert outcome[[int(k) for k, _ in scores].index(found["k"])] == zh(
            "analysis.clusters_chosen"
        )
    page = html.unescape(clients["analyst"].get("/analysis/clusters", timeout=ENGINE_SECONDS).text)
    assert 'href="/exports/cluster-demographics.csv"' in page
    assert 'href="/exports/cluster-scores.csv"' in page


def test_the_new_downloads_are_refused_where_their_page_is(
    clients: dict[str, httpx.Client],
) -> None:
    tables = ("trends", "value-at-risk", "accuracy", "cluster-demographics", "cluster-scores")
    for role in ("sales", "service"):
        for table in tables:
            for fmt in ("csv", "xlsx"):
                answer = clients[role].get(f"/exports/{table}.{fmt}")
                assert answer.status_code == 403, (role, table, fmt)


# --- the Admin page's API tokens, the worklist's diamonds -----------------------------------


def test_the_tokens_export_is_the_admin_pages_list_without_secrets(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    with site.session() as session, session.begin():
        begin_writing(session)
        admin = users.get_by_username(session=session, username="admin")
        secret, _ = tokens.issue(
            session=session, user_id=admin["id"], name="=cmd|' /C calc'!A0", scopes=["*"]
        )
    with site.session() as session:
        expected = admin_view.token_rows(session, users.list_users(session=session))
    assert expected
    for rows in _both(clients["admin"], "tokens"):
        assert [int(v) for v in column(rows, zh("tokens_page.col_id"))] == [
            t["id"] for t in expected
        ]
        assert column(rows, zh("tokens_page.col_state")) == [
            zh(f"tokens_page.state_{t['state']}") for t in expected
        ]
        assert "'=cmd|' /C calc'!A0" in column(rows, zh("tokens_page.col_name"))
        assert not any(secret in str(cell) for row in rows for cell in row)
    assert 'href="/exports/tokens.csv"' in clients["admin"].get("/admin/tokens").text
    for role in ("manager", "sales", "service", "analyst"):
        assert clients[role].get("/exports/tokens.csv").status_code == 403, role


def test_the_worklists_diamonds_export_is_every_diamond_of_the_owner_picked(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    rules = load_rules(site.store.settings)
    sales = site.principal("sales")
    with site.session() as session:
        day = latest_snapshot(session)
        mine = owned_by(CustomerScope(site.principal("admin")), sales.user_id)
        expected = snapshots.diamonds(
            session, day=day, rules=rules, locale="zh_CN", limit=100_000, scope=mine,
            order="churn_risk",
        ).rows  # fmt: skip
    assert expected
    engine = create_engine(site.url)
    before = len(audit_entries(engine, AuditAction.EXPORT, "customers"))
    query = f"owner={sales.user_id}"
    for rows in _both(clients["admin"], "worklist-diamonds", query):
        assert [int(v) for v in column(rows, zh("column.id"))] == [
            r["customer_id"] for r in expected
        ]
    entries = audit_entries(engine, AuditAction.EXPORT, "customers")
    assert len(entries) == before + 2
    assert entries[-1]["detail"]["route"] == "web.export.worklist-diamonds"
    assert entries[-1]["detail"]["ids"] == [r["customer_id"] for r in expected][:500]
    # a sales user's file is their own diamonds, whatever the address says
    own = parse_csv(clients["sales"].get("/exports/worklist-diamonds.csv?owner=1"))
    assert {int(v) for v in column(own, zh("column.id"))} == {r["customer_id"] for r in expected}
    page = html.unescape(clients["admin"].get("/worklist", params={"owner": sales.user_id}).text)
    assert f'href="/exports/worklist-diamonds.csv?owner={sales.user_id}"' in page
    for role in ("analyst", "service"):
        assert clients[role].get("/exports/worklist-diamonds.csv").status_code == 403, role


# --- the playbooks page -------------------------------------------------------------------


def test_the_playbooks_export_is_the_pages_rows(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    with site.session() as session:
        rows = overview(session=session, rules=load_rules(site.store.settings))
        effects = {e.code: e.effect for e in effect_in_session(session=session)}
    assert rows
    for found in _both(clients["analyst"], "playbooks"):
        assert column(found, pt("playbooks.code", "zh_CN")) == [r["code"] for r in rows]
        assert [int(v) for v in column(found, pt("playbooks.enrolled", "zh_CN"))] == [
            r["enrolled"] for r in rows
        ]
        uplift = _numbers(column(found, pt("effect.uplift", "zh_CN")))
        assert uplift == pytest.approx(
            [
                None if effects.get(r["code"]) is None else effects[r["code"]].rate_difference
                for r in rows
            ]
        )
    assert 'href="/exports/playbooks.csv"' in clients["manager"].get("/playbooks").text
    for role in ("sales", "service"):
        assert clients[role].get("/exports/playbooks.xlsx").status_code == 403, role
