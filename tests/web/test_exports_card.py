"""Downloads of the 360 card's timeline and the overview's headline metrics.

The timeline (``/exports/timeline.csv|xlsx?customer=<id>``): every entry of
:func:`rapport.customer360.customer_timeline` (more than the card's 30), a note written like
a formula is text in both files, an analyst's file hides the free text as the card does and
is not audited, a customer outside the user's scope is not found, and an unmasked download
is audited once with the customer's id. The headline metrics
(``/exports/headline.csv?period=``): the metric overview of the period, refused to the
roles the overview refuses.

It reuses the web store copy and the logged-in clients of ``test_exports``.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from rapport import customer360
from rapport.access import CustomerScope
from rapport.analyses import cohort_rows, metric_values
from rapport.analytics.metrics import METRICS
from rapport.analytics.periods import Period, day_end
from rapport.config import Settings, load_rules
from rapport.domain import AuditAction
from rapport.ingest.spreadsheet import neutralise
from rapport.models.clusters import cluster_summary, description
from rapport.reports import analysis as distributions
from rapport.reports import overview as figures
from rapport.reports import snapshots
from rapport.store import schema
from rapport.store.db import begin_writing, create_engine
from tests.helpers import audit_entries
from tests.web import test_exports as shared
from tests.web.test_exports import Site, both, column, parse_csv, parse_xlsx, zh

# the web store copy and the logged-in clients of test_exports, as this module's fixtures
site = shared.site
clients = shared.clients

#: Seconds the first metrics download may take (a worker process starts the engine).
ENGINE_SECONDS = 300
FORMULA_NOTE = "=cmd|' /C calc'!A0"
#: More notes than the card's 30 entries, so the file is more than the card shows.
NOTES = 35


def _write_notes(site: Site) -> None:
    n = schema.customer_notes.c
    with site.session() as session, session.begin():
        begin_writing(session)
        if session.execute(
            sa.select(sa.func.count()).where(n.customer_id == site.formula_id, n.body.like("n%"))
        ).scalar_one():
            return
        start = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
        session.execute(
            sa.insert(schema.customer_notes),
            [
                {
                    "customer_id": site.formula_id,
                    "body": f"n{i}" if i else FORMULA_NOTE,
                    "created_at": start + dt.timedelta(hours=i),
                }
                for i in range(NOTES)
            ],
        )


def _entries(site: Site, masked: bool) -> list[dict]:
    with site.session() as session:
        return customer360.customer_timeline(
            session=session, customer_id=site.formula_id, limit=10_000, masked=masked
        )


def test_the_timeline_export_is_every_entry_with_a_formula_note_as_text(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    _write_notes(site)
    expected = _entries(site, masked=False)
    assert len(expected) > 30
    engine = create_engine(site.url)
    before = len(
        [
            e
            for e in audit_entries(engine, AuditAction.EXPORT)
            if e["detail"]["route"] == "web.export.timeline"
        ]
    )
    csv_rows, xlsx_rows = both(clients["sales"], "timeline", f"customer={site.formula_id}")
    for rows in (csv_rows, xlsx_rows):
        assert rows[0] == [
            zh(k) for k in ("card.time", "card.source", "card.kind", "card.detail", "card.amount")
        ]
        assert column(rows, zh("card.source")) == [zh(f"source.{e['source']}") for e in expected]
        details = column(rows, zh("card.detail"))
        notes = [d for d, e in zip(details, expected, strict=True) if e["source"] == "notes"]
        assert "'" + FORMULA_NOTE in notes
        assert FORMULA_NOTE not in details
    amounts = [float(v) if v else None for v in column(csv_rows, zh("card.amount"))]
    assert amounts == [None if e["value"] is None else float(e["value"]) for e in expected]
    answer = clients["sales"].get(f"/exports/timeline.xlsx?customer={site.formula_id}")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    card = clients["sales"].get(f"/customers/{site.formula_id}").text
    assert f'href="/exports/timeline.xlsx?customer={site.formula_id}"' in card
    entries = audit_entries(engine, AuditAction.EXPORT, "customers")
    entries = [e for e in entries if e["detail"]["route"] == "web.export.timeline"]
    assert len(entries) == before + 3  # the CSV and the two XLSX
    assert entries[-1]["detail"] == {
        "via": "web",
        "route": "web.export.timeline",
        "format": "xlsx",
        "count": 1,
        "ids": [site.formula_id],
    }


def test_an_analysts_timeline_hides_the_free_text_and_is_not_audited(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    _write_notes(site)
    expected = _entries(site, masked=True)
    engine = create_engine(site.url)
    before = len(audit_entries(engine, AuditAction.EXPORT))
    csv_rows, xlsx_rows = both(clients["analyst"], "timeline", f"customer={site.formula_id}")
    for rows in (csv_rows, xlsx_rows):
        details = column(rows, zh("card.detail"))
        assert len(details) == len(expected)
        hidden = [
            d
            for d, e in zip(details, expected, strict=True)
            if e["source"] in customer360.FREE_TEXT_SOURCES
        ]
        assert hidden and set(hidden) == {zh("card.hidden")}
    assert len(audit_entries(engine, AuditAction.EXPORT)) == before


def test_a_customer_outside_the_scope_or_no_customer_is_not_found(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    c = schema.customers.c
    with site.session() as session:
        other = session.execute(
            sa.select(c.id).where(c.owner_id != site.store.ids["sales"]).order_by(c.id).limit(1)
        ).scalar_one()
    assert clients["sales"].get(f"/exports/timeline.csv?customer={other}").status_code == 404
    assert clients["admin"].get(f"/exports/timeline.csv?customer={other}").status_code == 200
    assert clients["admin"].get("/exports/timeline.csv").status_code == 404
    assert clients["admin"].get("/exports/timeline.xlsx?customer=x1").status_code == 404


# --- the overview's headline metrics -------------------------------------------------------


def test_the_headline_metrics_export_is_the_metric_overview_of_the_period(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    settings = Settings(_env_file=None, database_url=site.url)
    with site.session() as session:
        latest, _ = figures.snapshot_days(session)
    assert latest is not None
    expected = figures.metric_overview(
        settings, load_rules(), as_of=day_end(latest, settings.tz), period="90d"
    )["headline"]
    client = clients["analyst"]
    answers = [
        client.get(f"/exports/headline.{fmt}?period=90d", timeout=ENGINE_SECONDS)
        for fmt in ("csv", "xlsx")
    ]
    rows = (parse_csv(answers[0]), parse_xlsx(answers[1]))
    for found in rows:
        assert column(found, zh("exports.metric")) == [
            METRICS[m].label_zh for m in figures.HEADLINE
        ]
        for heading, key in (("exports.value", "value"), ("exports.previous", "previous")):
            cells = [float(v) if v not in ("", None) else None for v in column(found, zh(heading))]
            want = [expected[m][key] for m in figures.HEADLINE]
            assert cells == pytest.approx(want), heading
        changes = column(found, zh("exports.change"))
        assert not any(isinstance(v, str) and v.startswith("'") for v in changes)
    fragment = client.get("/overview/metrics", params={"period": "90d"}, timeout=ENGINE_SECONDS)
    assert 'href="/exports/headline.csv?period=90d"' in fragment.text


def test_the_headline_metrics_are_refused_where_the_overview_is(
    clients: dict[str, httpx.Client],
) -> None:
    for role in ("sales", "service"):
        assert clients[role].get("/exports/headline.csv").status_code == 403
        assert clients[role].get("/exports/headline.xlsx").status_code == 403


# --- the analysis page's explorer, cohorts, chain and clusters ------------------------------


def _settings_and_as_of(site: Site) -> tuple[Settings, dt.date, dt.datetime]:
    settings = Settings(_env_file=None, database_url=site.url)
    with site.session() as session:
        latest, _ = figures.snapshot_days(session)
    assert latest is not None
    return settings, latest, day_end(latest, settings.tz)


def _numbers(values: list[Any]) -> list[float | None]:
    return [None if v in ("", None) else float(v) for v in values]


def test_the_explorer_export_is_the_metric_values_of_the_question(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    settings, _, as_of = _settings_and_as_of(site)
    period = Period.parse("12m", as_of=as_of, tz=settings.tz)
    _, table = metric_values(
        settings,
        load_rules(),
        ["repurchase_rate"],
        period,
        as_of=as_of,
        granularity="quarter",
        by="value_tier",
    )
    expected = table.to_pylist()
    assert len(expected) >= 4
    query = "metric=repurchase_rate&period=12m&granularity=quarter&by=value_tier"
    client = clients["analyst"]
    answers = [
        client.get(f"/exports/explorer.{fmt}?{query}", timeout=ENGINE_SECONDS)
        for fmt in ("csv", "xlsx")
    ]
    for found in (parse_csv(answers[0]), parse_xlsx(answers[1])):
        assert set(column(found, zh("exports.metric"))) == {METRICS["repurchase_rate"].label_zh}
        tiers = column(found, zh("analysis.by_value_tier"))
        assert tiers == [
            snapshots.group_label("value_tier", r["segment"], "zh_CN") for r in expected
        ]
        for key in ("numerator", "denominator", "value"):
            assert _numbers(column(found, zh(f"analysis.{key}"))) == pytest.approx(
                [r[key] for r in expected]
            )
        days = [str(v)[:10] for v in column(found, zh("analysis.bucket"))]
        assert days == [
            r["bucket_start"].replace(tzinfo=dt.UTC).astimezone(settings.tz).date().isoformat()
            for r in expected
        ]
    page = client.get("/analysis/metrics", params=dict(p.split("=") for p in query.split("&")))
    assert f'href="/exports/explorer.xlsx?{query}"' in html.unescape(page.text)


def test_the_cohort_export_is_the_cohort_rows(site: Site, clients: dict[str, httpx.Client]) -> None:
    settings, _, as_of = _settings_and_as_of(site)
    period = Period.parse("12m", as_of=as_of, tz=settings.tz)
    _, rows = cohort_rows(settings, load_rules(), period)
    assert rows
    client = clients["manager"]
    answers = [
        client.get(f"/exports/cohorts.{fmt}", timeout=ENGINE_SECONDS) for fmt in ("csv", "xlsx")
    ]
    for found in (parse_csv(answers[0]), parse_xlsx(answers[1])):
        assert column(found, zh("analysis.cohort")) == [r["cohort"] for r in rows]
        offsets = [int(v) for v in column(found, zh("analysis.month_offset"))]
        assert offsets == [r["month_offset"] for r in rows]
        shares = _numbers(column(found, zh("analysis.retention_share")))
        assert shares == pytest.approx(
            [None if r["share"] is None else r["share"] / 100 for r in rows]
        )
    assert 'href="/exports/cohorts.csv"' in client.get("/analysis/cohorts").text


def test_the_chain_export_is_the_degree_chain_within_the_managers_scope(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    _, latest, _ = _settings_and_as_of(site)
    with site.session() as session:
        scope = CustomerScope(site.principal("manager"))
        chain = distributions.degree_chain(session, day=latest, scope=scope)
    assert chain is not None
    client = clients["manager"]
    answers = [
        client.get(f"/exports/chain.{fmt}", timeout=ENGINE_SECONDS) for fmt in ("csv", "xlsx")
    ]
    for found in (parse_csv(answers[0]), parse_xlsx(answers[1])):
        assert column(found, zh("chain.source")) == [zh(f"degree.{x.source}") for x in chain.links]
        assert [int(v) for v in column(found, zh("chain.high_source"))] == [
            x.high_source for x in chain.links
        ]
        assert _numbers(column(found, zh("chain.share"))) == pytest.approx(
            [x.share for x in chain.links]
        )
        assert _numbers(column(found, zh("chain.lift"))) == pytest.approx(
            [x.lift for x in chain.links]
        )
    assert 'href="/exports/chain.csv"' in client.get("/analysis/chain").text


def test_the_clusters_export_is_the_cluster_summary(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    settings, latest, _ = _settings_and_as_of(site)
    found = cluster_summary(settings, as_of=latest)
    assert found is not None
    client = clients["analyst"]
    answers = [
        client.get(f"/exports/clusters.{fmt}", timeout=ENGINE_SECONDS) for fmt in ("csv", "xlsx")
    ]
    for rows in (parse_csv(answers[0]), parse_xlsx(answers[1])):
        assert column(rows, zh("cluster")) == [f"第 {c['id'] + 1} 类" for c in found["clusters"]]
        assert [int(v) for v in column(rows, zh("customers"))] == [
            c["size"] for c in found["clusters"]
        ]
        assert column(rows, zh("cluster_features")) == [
            neutralise(description([(n, v) for n, v in c["distinguishing"]], "zh_CN"))
            for c in found["clusters"]
        ]
    assert 'href="/exports/clusters.csv"' in client.get("/analysis/clusters").text


def test_the_analysis_exports_are_refused_where_the_page_is(
    clients: dict[str, httpx.Client],
) -> None:
    for role in ("sales", "service"):
        for table in ("explorer", "cohorts", "chain", "clusters"):
            assert clients[role].get(f"/exports/{table}.csv").status_code == 403, (role, table)


def test_an_explorer_question_asking_too_much_is_a_page_saying_so(
    clients: dict[str, httpx.Client],
) -> None:
    answer = clients["analyst"].get(
        "/exports/explorer.csv?metric=repurchase_rate&period=24m&granularity=week&by=city",
        timeout=ENGINE_SECONDS,
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert 'id="export-failed"' in answer.text
