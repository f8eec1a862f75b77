"""``rapport customer``: found by internal id or by the business's customer number, with the
contact data, birthday and consent on the card; and ``rapport score`` without ``--as-of``
on a store whose data ends before today. On the fixture company
(tests/analytics/fixture_data.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa

from rapport.config import get_settings
from rapport.errors import NotFound
from rapport.store import customers, schema, session_scope
from rapport.store.db import create_engine
from rapport.store.summary import last_activity_at, last_activity_day
from tests.cli.test_scores import (  # noqa: F401 — fixtures by name
    DAY,
    _scored_fixture_company,
    _wide,
    company,
    flat,
    invoke,
    scored,
)

#: The fixture's last activity: a survey answer on 2024-07-05 12:00 UTC (20:00 in Shanghai).
LAST_DAY = dt.date(2024, 7, 5)


def _update(customer_id: int, **values: object) -> None:
    engine = create_engine(get_settings().database_url)
    with engine.begin() as conn:
        conn.execute(
            schema.customers.update().where(schema.customers.c.id == customer_id).values(values)
        )
    engine.dispose()


def _add_customer(external_id: str, name: str) -> int:
    engine = create_engine(get_settings().database_url)
    with session_scope(engine) as session:
        row = customers.repo.create(
            session=session, values={"external_id": external_id, "name": name}
        )
    engine.dispose()
    return row["id"]


@pytest.mark.usefixtures("scored")
def test_the_customer_number_finds_the_same_card_as_the_id() -> None:
    by_id = json.loads(invoke("customer", "1", "--format", "json").stdout)
    by_number = json.loads(invoke("customer", "C001", "--format", "json").stdout)
    assert by_id["customer"]["id"] == by_number["customer"]["id"] == 1
    assert by_number["customer"]["external_id"] == "C001"
    assert by_id == by_number
    forced = json.loads(invoke("customer", "--external", "C001", "--format", "json").stdout)
    assert forced["customer"]["id"] == 1


@pytest.mark.usefixtures("company")
def test_an_id_that_is_also_a_customer_number_picks_the_id_and_says_so() -> None:
    other = _add_customer("1", "李雷")
    result = invoke("customer", "1")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "王芳 #1" in out
    assert f"1 也是客户 #{other} 的客户编号" in out and "--external" in out
    external = invoke("customer", "1", "--external")
    assert external.exit_code == 0, external.output
    assert f"李雷 #{other}" in flat(external.stdout)
    assert "也是客户" not in external.stdout
    # a number no customer has as id is looked up as a customer number
    digits = _add_customer("90210", "韩梅梅")
    assert (
        json.loads(invoke("customer", "90210", "--format", "json").stdout)["customer"]["id"]
        == digits
    )


@pytest.mark.parametrize(
    ("args", "tried"),
    [
        (("customer", "999"), "no customer with id or customer number (external_id) '999'"),
        (("customer", "C999"), "no customer with id or customer number (external_id) 'C999'"),
        (
            ("customer", "--external", "1"),
            "no customer with customer number (external_id) '1'",
        ),
    ],
)
@pytest.mark.usefixtures("company")
def test_an_unknown_customer_names_what_was_tried(args, tried) -> None:
    result = invoke(*args)
    assert isinstance(result.exception, NotFound), result.output
    assert str(result.exception).startswith(tried)


@pytest.mark.usefixtures("scored")
def test_the_card_shows_contact_data_birthday_and_consent(monkeypatch) -> None:
    _update(
        3,
        birthday=dt.date(1990, 5, 17),
        phone="+8613812345678",
        email="li.na@example.cn",
        wechat_id="lina_wx",
        district="徐汇区",
        marketing_consent=False,
        marketing_opt_out=True,
        gender="female",
    )
    out = flat(invoke("customer", "C003").stdout)
    assert "生日 1990-05-17" in out
    assert "电话 +8613812345678" in out
    assert "电子邮箱 li.na@example.cn" in out
    assert "微信号 lina_wx" in out
    assert "徐汇区" in out
    assert "营销许可 未同意, 已退订" in out
    assert "性别 女" in out
    # the fixture company is too short for the predictive models: the card says so
    assert "快照中没有预测" in out
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    english = flat(invoke("customer", "C003").stdout)
    assert "Birthday 1990-05-17" in english and "Marketing consent not given, opted out" in english

    doc = json.loads(invoke("customer", "3", "--format", "json").stdout)
    assert doc["customer"]["birthday"] == "1990-05-17"
    assert doc["customer"]["phone"] == "+8613812345678"
    assert doc["customer"]["marketing_consent"] is False
    assert doc["customer"]["marketing_opt_out"] is True
    assert doc["snapshot"]["as_of"] == DAY and doc["previous_as_of"] == "2024-06-30"
    assert doc["timeline"] and all(
        set(entry) == {"at", "source", "kind", "detail", "value"} for entry in doc["timeline"]
    )

    rows = list(csv.DictReader(io.StringIO(invoke("customer", "3", "--format", "csv").stdout)))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == "3" and row["external_id"] == "C003"
    assert row["birthday"] == "1990-05-17" and row["email"] == "li.na@example.cn"
    assert row["marketing_consent"] == "False" and row["as_of"] == DAY
    for key in ("satisfaction", "loyalty", "engagement", "advocacy", "relationship_index"):
        value = doc["snapshot"][key]
        assert (row[key] == "") if value is None else float(row[key]) == pytest.approx(value)


@pytest.mark.usefixtures("company")
def test_a_card_without_snapshot_has_no_scores_in_json_or_csv() -> None:
    doc = json.loads(invoke("customer", "C002", "--format", "json").stdout)
    assert doc["customer"]["id"] == 2 and doc["snapshot"] is None and doc["changes"] == []
    row = next(csv.DictReader(io.StringIO(invoke("customer", "2", "--format", "csv").stdout)))
    assert row["external_id"] == "C002" and row["as_of"] == "" and row["loyalty"] == ""


# --- rapport score without --as-of ----------------------------------------------------------------


@pytest.mark.usefixtures("company")
def test_last_activity_is_the_latest_of_orders_events_interactions_tickets_surveys() -> None:
    engine = create_engine(get_settings().database_url)
    with session_scope(engine) as session:
        # orders and interactions end on 2024-06-30 16:00 UTC, tickets earlier, no events
        assert last_activity_at(session=session) == dt.datetime(2024, 7, 5, 12, tzinfo=dt.UTC)
        assert last_activity_day(session=session, tz=get_settings().tz) == LAST_DAY
        # a later survey answer moves the end of the data
        session.execute(
            schema.survey_responses.insert().values(
                customer_id=1,
                kind="csat",
                score=4,
                scale_min=1,
                scale_max=5,
                responded_at=dt.datetime(2024, 9, 3, 20, tzinfo=dt.UTC),
            )
        )
        assert last_activity_day(session=session, tz=get_settings().tz) == dt.date(2024, 9, 4)
    engine.dispose()


def _snapshot_dates() -> list[dt.date]:
    engine = create_engine(get_settings().database_url)
    with engine.connect() as conn:
        s = schema.customer_scores
        dates = list(conn.execute(sa.select(s.c.as_of).distinct()).scalars())
    engine.dispose()
    return dates


@pytest.mark.usefixtures("company")
def test_score_without_as_of_scores_the_last_day_with_data_and_says_so() -> None:
    result = invoke("score")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert f"按 {LAST_DAY}（有数据的最后一天）评分；用 --as-of 指定其他日期" in out
    assert f"10 客户 — {LAST_DAY}" in out
    assert _snapshot_dates() == [LAST_DAY]


@pytest.mark.usefixtures("company")
def test_score_with_as_of_scores_that_day_without_the_notice(monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    result = invoke("score", "--as-of", "2024-09-30")
    assert result.exit_code == 0, result.output
    assert "the last day with data" not in result.stdout
    assert _snapshot_dates() == [dt.date(2024, 9, 30)]


@pytest.mark.usefixtures("company")
def test_score_without_as_of_scores_today_when_the_data_reaches_today() -> None:
    now = dt.datetime.now(dt.UTC)
    engine = create_engine(get_settings().database_url)
    with engine.begin() as conn:
        conn.execute(
            schema.interactions.insert().values(
                customer_id=1, channel="phone", direction="inbound", occurred_at=now
            )
        )
    engine.dispose()
    today = dt.datetime.now(get_settings().tz).date()
    result = invoke("score")
    assert result.exit_code == 0, result.output
    assert "有数据的最后一天" not in result.stdout
    assert _snapshot_dates() == [today]
