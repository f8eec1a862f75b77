"""The synthetic company: determinism, the import format, the schema's rules and the
documented behavioural properties (bands from docs/sample.md)."""

from __future__ import annotations

import csv
import json
import re
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from rapport.config import load_rules
from rapport.errors import ValidationFailed
from rapport.sample import SCHEMAS, SampleCompany, generate, generate_to_dir, write
from rapport.sample import generator as gen_module
from rapport.sample.calendar import Window
from rapport.sample.params import FIRST_RESPONSE_HOURS, RESOLUTION_HOURS
from tests.sample.checks import check_all, frame
from tests.sample.conftest import END


def end_utc(c: SampleCompany) -> pd.Timestamp:
    return pd.Timestamp(c.params["end"], tz=c.params["timezone"]).tz_convert("UTC")


def revenue(c: SampleCompany) -> pd.Series:
    o = frame(c, "orders")
    done = o[o.status == "completed"]
    return done.net_amount.astype(float).groupby(done.customer_external_id).sum()


def latent(c: SampleCompany) -> pd.DataFrame:
    df = c.latent.to_pandas()
    df["quartile"] = pd.qcut(df.satisfaction, 4, labels=False)
    return df


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_tables() -> None:
    a = generate(customers=600, months=6, seed=3, end=END)
    b = generate(customers=600, months=6, seed=3, end=END)
    for name in SCHEMAS:
        assert a[name].equals(b[name]), name
    assert a.latent.equals(b.latent)


def test_different_seed_differs() -> None:
    a = generate(customers=600, months=6, seed=3, end=END)
    b = generate(customers=600, months=6, seed=4, end=END)
    assert not a["customers"].equals(b["customers"])
    assert not a["orders"].equals(b["orders"])


def test_default_end_is_first_of_current_month() -> None:
    c = generate(customers=50, months=2, seed=1)
    assert c.params["end"] == date.today().replace(day=1).isoformat()


def test_blocks_keep_ids_unique_and_streaming_matches_memory(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(gen_module, "BLOCK", 400)
    memory = generate(customers=1000, months=6, seed=9, end=END)
    check_all(memory, end_utc(memory))  # three blocks: keys unique, references resolve
    rows = generate_to_dir(tmp_path, customers=1000, months=6, seed=9, chunk_customers=800, end=END)
    for name in SCHEMAS:
        on_disk = pq.read_table(tmp_path / f"{name}.parquet")
        assert on_disk.equals(memory[name]), name
        assert rows[name] == memory[name].num_rows
    assert pq.ParquetFile(tmp_path / "orders.parquet").num_row_groups == 2
    assert pq.read_table(tmp_path / "latent.parquet").equals(memory.latent)
    params = json.loads((tmp_path / "params.json").read_text("utf-8"))
    assert params["seed"] == 9 and params["rows"]["customers"] == 1000


# --- the import format and the schema's rules ----------------------------------------------


@pytest.mark.parametrize(
    ("customers", "months", "locale", "end"),
    [(1, 1, "zh_CN", END), (7, 1, "en_US", date(2024, 3, 15)), (300, 60, "en_US", END)],
)
def test_rules_hold_for_tiny_and_long_histories(customers, months, locale, end) -> None:
    c = generate(customers=customers, months=months, seed=4, locale=locale, end=end)
    check_all(c, end_utc(c))


def test_local_days_map_monotonically_across_daylight_saving() -> None:
    window = Window.build(date(2025, 1, 1), 12, "America/New_York")
    x = np.linspace(0, window.days, 2_000_000)
    utc = window.utc_seconds(x)
    assert (np.diff(utc) >= 0).all()
    assert utc[-1] == window.end_utc_seconds
    spring = window.day_of(date(2024, 3, 10))
    assert window.midnight_utc[spring + 1] - window.midnight_utc[spring] == 23 * 3600


def test_every_rule_holds(company: SampleCompany) -> None:
    check_all(company, end_utc(company))


def test_every_rule_holds_in_english(english: SampleCompany) -> None:
    check_all(english, end_utc(english))


def test_columns_and_types(small: SampleCompany) -> None:
    for name, schema in SCHEMAS.items():
        assert small[name].schema.equals(schema), name
        assert small[name].num_rows > 0, name
    ts = small["orders"].schema.field("ordered_at").type
    assert ts == pa.timestamp("us", tz="UTC")
    assert small["orders"].schema.field("net_amount").type == pa.decimal128(14, 2)


def test_csv_files_follow_the_text_conventions(small: SampleCompany, tmp_path) -> None:
    write(small, tmp_path, format="csv")
    for name, schema in SCHEMAS.items():
        header = (tmp_path / f"{name}.csv").read_text("utf-8").splitlines()[0]
        assert header.split(",") == schema.names, name
    text = pacsv.read_csv(
        tmp_path / "orders.csv",
        convert_options=pacsv.ConvertOptions(
            strings_can_be_null=True, column_types={n: pa.string() for n in SCHEMAS["orders"].names}
        ),
    ).to_pandas()
    assert text.ordered_at.str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$").all()
    assert text.net_amount.str.match(r"^\d+\.\d\d$").all()
    with (tmp_path / "customers.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["marketing_consent"] for r in rows} == {"true", "false"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", r["birthday"]) for r in rows if r["birthday"])
    assert all(r["created_at"].endswith("+08:00") for r in rows)
    params = json.loads((tmp_path / "params.json").read_text("utf-8"))
    assert params["locale"] == "zh_CN" and params["model"]["purchase_r"] > 0
    assert (tmp_path / "latent.csv").exists()
    tags = pacsv.read_csv(tmp_path / "customers.csv").column("tags").drop_null().to_pylist()
    assert all(isinstance(json.loads(t), list) for t in tags)


def test_parquet_round_trip(small: SampleCompany, tmp_path) -> None:
    write(small, tmp_path, format="parquet")
    for name in SCHEMAS:
        assert pq.read_table(tmp_path / f"{name}.parquet").equals(small[name]), name


def test_unknown_locale_and_format_are_refused(small: SampleCompany, tmp_path) -> None:
    with pytest.raises(ValidationFailed):
        generate(customers=10, months=1, locale="fr_FR")
    with pytest.raises(ValidationFailed):
        write(small, tmp_path, format="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed):
        generate(customers=0)


def test_sla_targets_match_the_business_rules() -> None:
    sla = load_rules().sla
    assert {p.value: h for p, h in sla.first_response_hours.items()} == FIRST_RESPONSE_HOURS
    assert {p.value: h for p, h in sla.resolution_hours.items()} == RESOLUTION_HOURS


# --- locales ---------------------------------------------------------------------------------


def test_chinese_company(small: SampleCompany) -> None:
    cust = frame(small, "customers")
    assert cust.name.str.fullmatch(r"[\u4e00-\u9fff]{2,4}").mean() > 0.99
    assert cust.phone.dropna().str.fullmatch(r"\+861[3-9]\d{9}").all()
    assert cust.phone.notna().mean() > 0.9
    assert (cust.country == "CN").all()
    assert cust.province.isin(["北京市", "上海市", "广东省"]).any()
    assert small["products"]["currency"].unique().to_pylist() == ["CNY"]
    assert frame(small, "products").category.isin(["护肤", "彩妆", "个护"]).any()
    assert small.params["timezone"] == "Asia/Shanghai"


def test_english_company(english: SampleCompany) -> None:
    cust = frame(english, "customers")
    assert cust.name.str.fullmatch(r"[A-Z][A-Za-z'\-]+ [A-Z][A-Za-z'\-]+").mean() > 0.98
    assert cust.phone.dropna().str.fullmatch(r"\+1[2-9]\d{9}").all()
    assert (cust.country == "US").all()
    assert english["orders"]["currency"].unique().to_pylist() == ["USD"]
    assert english.params["timezone"] == "America/New_York"


# --- documented properties (docs/sample.md states the bands) -------------------------------


def test_repeat_buyers_share(company: SampleCompany) -> None:
    o = frame(company, "orders")
    per = o[o.status == "completed"].groupby("customer_external_id").size()
    assert 0.60 <= (per >= 2).mean() <= 0.85


def test_order_statuses(company: SampleCompany) -> None:
    share = frame(company, "orders").status.value_counts(normalize=True)
    assert 0.02 <= share["cancelled"] <= 0.04
    assert 0.01 <= share["refunded"] <= 0.03


def test_nps_distribution(company: SampleCompany) -> None:
    s = frame(company, "survey_responses")
    nps = s[s.kind == "nps"].score
    promoters, detractors = (nps >= 9).mean(), (nps <= 6).mean()
    assert 0.40 <= promoters <= 0.62
    assert 0.10 <= detractors <= 0.28


def test_sla_breach_share(company: SampleCompany) -> None:
    t = frame(company, "tickets").dropna(subset=["resolved_at"])
    hours = pd.Timedelta(hours=1)
    fr = (t.first_response_at - t.opened_at) / hours
    rs = (t.resolved_at - t.opened_at) / hours
    breach = (fr > t.priority.map(FIRST_RESPONSE_HOURS)) | (rs > t.priority.map(RESOLUTION_HOURS))
    assert 0.15 <= breach.mean() <= 0.35
    assert (frame(company, "tickets").status.isin(["closed", "resolved"])).mean() > 0.9


def test_satisfaction_drives_complaints_and_dropout(company: SampleCompany) -> None:
    lat = latent(company)
    t = frame(company, "tickets")
    complaints = t[t.kind == "complaint"].groupby("customer_external_id").size()
    lat["complaints"] = lat.customer_external_id.map(complaints).fillna(0)
    lat["dropped"] = lat.dropout_time.notna()
    by = lat.groupby("quartile")[["complaints", "p_dropout", "dropped"]].mean()
    assert by.complaints[3] * 3 < by.complaints[0]
    assert by.p_dropout[3] * 2 < by.p_dropout[0]
    assert by.dropped[3] < by.dropped[0]


def test_satisfaction_drives_referrals_and_engagement(company: SampleCompany) -> None:
    lat = latent(company)
    refs = frame(company, "referrals").groupby("referrer_external_id").size()
    lat["referrals"] = lat.customer_external_id.map(refs).fillna(0)
    events = frame(company, "events").groupby("customer_external_id").size()
    lat["events"] = lat.customer_external_id.map(events).fillna(0)
    by = lat.groupby("quartile")[["referrals", "events", "engagement"]].mean()
    assert by.referrals[3] > 3 * by.referrals[0]
    assert by.events[3] > by.events[0]
    assert by.engagement[3] > by.engagement[0]


def test_diamonds_are_far_more_valuable(company: SampleCompany) -> None:
    lat = latent(company)
    lat["revenue"] = lat.customer_external_id.map(revenue(company)).fillna(0)
    diamonds = lat[lat.is_diamond]
    assert 0.005 <= lat.is_diamond.mean() <= 0.03
    assert diamonds.revenue.median() > 5 * lat[lat.revenue > 0].revenue.median()
    assert diamonds.satisfaction.mean() > 1.0


def test_drifting_customers_slow_down(company: SampleCompany) -> None:
    lat = latent(company)
    drifting = lat[lat.is_drifting].customer_external_id
    assert 0.04 <= lat.is_drifting.mean() <= 0.10
    o = frame(company, "orders")
    o = o[(o.status == "completed") & o.customer_external_id.isin(drifting)]
    created = frame(company, "customers").set_index("external_id").created_at
    cut = end_utc(company) - pd.Timedelta(days=91)
    late = o[o.ordered_at >= cut].groupby("customer_external_id").size() / 91
    early_days = (cut - created.loc[drifting]).dt.total_seconds() / 86400
    early = o[o.ordered_at < cut].groupby("customer_external_id").size()
    early_rate = early.reindex(drifting).fillna(0).to_numpy() / early_days.to_numpy()
    late_rate = late.reindex(drifting).fillna(0).to_numpy()
    assert late_rate.mean() < 0.5 * early_rate.mean()
    assert (late_rate < early_rate).mean() > 0.8


def test_campaign_uplift(company: SampleCompany) -> None:
    d = frame(company, "campaign_deliveries")
    converted = d.converted_at.notna()
    treated, holdout = converted[~d.holdout].mean(), converted[d.holdout].mean()
    assert treated > holdout + 0.01
    assert d.holdout.mean() < 0.2


def test_double_eleven_peak(company: SampleCompany) -> None:
    o = frame(company, "orders")
    local = o.ordered_at.dt.tz_convert("Asia/Shanghai")
    per_day = local.dt.date.value_counts()
    peak = per_day.get(date(2024, 11, 11), 0)
    assert peak > 3 * per_day.median()


def test_loyalty_programme(company: SampleCompany) -> None:
    ledger = frame(company, "loyalty_ledger")
    reasons = set(ledger.reason)
    assert {"purchase", "birthday", "redeem"} <= reasons
    purchases = ledger[ledger.reason == "purchase"]
    o = frame(company, "orders").set_index("external_id")
    order_ids = purchases.reference.str.removeprefix("order:")
    net = o.net_amount.astype(float).loc[order_ids].to_numpy()
    assert (purchases.points.to_numpy() == np.floor(net)).all()
    assert (o.status.loc[order_ids] == "completed").all()


def test_leads_convert_at_the_stated_rate(company: SampleCompany) -> None:
    leads = frame(company, "leads")
    assert 0.2 <= (leads.status == "converted").mean() <= 0.3
    assert set(leads.status) == {"new", "qualified", "converted", "lost"}


@pytest.mark.slow
def test_twenty_thousand_customers() -> None:
    c = generate(customers=20_000, months=24, seed=42, end=END)
    check_all(c, end_utc(c))
    counts = c.row_counts()
    assert counts["customers"] == 20_000
    assert 5 <= counts["orders"] / 20_000 <= 12
    assert 20 <= counts["events"] / 20_000 <= 60
