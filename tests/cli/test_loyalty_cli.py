"""`rapport loyalty expire|expiring`: the expiry job from the command line (dry run first,
then the posting, then nothing more) and what a customer's points expire when."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app, run
from rapport.config import get_settings
from rapport.domain import LoyaltyReason
from rapport.store import customers, loyalty, session_scope
from rapport.store.db import create_engine, upgrade

runner = CliRunner()
#: Earned 2023-01-10 (expires 730 days later, 2025-01-09) and 2024-06-01.
EARNED = (dt.datetime(2023, 1, 10, 4, tzinfo=dt.UTC), dt.datetime(2024, 6, 1, 4, tzinfo=dt.UTC))


@pytest.fixture
def member() -> int:
    engine = create_engine(get_settings().database_url)
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            cid = customers.repo.create(
                session=session, values={"external_id": "C-1", "name": "王芳"}
            )["id"]
            for at, points in zip(EARNED, (300, 80), strict=True):
                loyalty.append(
                    session=session,
                    values={
                        "customer_id": cid,
                        "points": points,
                        "reason": LoyaltyReason.PURCHASE,
                        "occurred_at": at,
                    },
                )
            loyalty.redeem(
                session=session,
                customer_id=cid,
                points=100,
                at=EARNED[0] + dt.timedelta(days=30),
                reference="gift",
            )
    finally:
        engine.dispose()
    return int(cid)


def _json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["loyalty", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_expire_dry_run_then_post_then_nothing_more(member: int) -> None:
    dry = _json("expire", "--at", "2025-01-31", "--dry-run")["run"][0]
    assert (dry["customers"], dry["entries"], dry["points"], dry["dry_run"]) == (1, 1, 200, True)
    assert _json("expiring", str(member))["balance"] == 280  # nothing written
    done = _json("expire", "--at", "2025-01-31")["run"][0]
    assert (done["customers"], done["entries"], done["points"], done["dry_run"]) == (
        1,
        1,
        200,
        False,
    )
    again = _json("expire", "--at", "2025-01-31")["run"][0]
    assert (again["entries"], again["points"]) == (0, 0)
    left = _json("expiring", str(member))
    assert left["balance"] == 80
    assert left["expiring"] == [{"expires_at": "2026-06-01", "points": 80}]


def test_before_the_first_lot_expires_nothing_is_posted(member: int) -> None:
    run = _json("expire", "--at", "2025-01-08")["run"][0]
    assert (run["customers"], run["points"]) == (0, 0)
    assert [e["points"] for e in _json("expiring", str(member))["expiring"]] == [200, 80]


def test_the_table_speaks_the_locale(member: int) -> None:
    result = runner.invoke(app, ["loyalty", "expire", "--at", "2025-01-31"])
    assert result.exit_code == 0, result.output
    assert "过期积分" in result.stdout and "200" in result.stdout


def test_a_bad_date_and_a_missing_customer_are_refused(
    member: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, code, needle in (
        (["expire", "--at", "31/01/2025"], 7, "--at"),
        (["expiring", "999999"], 5, "999999"),
    ):
        monkeypatch.setattr(sys, "argv", ["rapport", "loyalty", *args])
        get_settings.cache_clear()
        with pytest.raises(SystemExit) as info:
            run()
        assert info.value.code == code
        assert needle in capsys.readouterr().err


def test_post_earns_from_orders_once_and_claws_back_a_cancellation(member: int) -> None:
    from decimal import Decimal

    from rapport.domain import OrderStatus
    from rapport.store import orders

    engine = create_engine(get_settings().database_url)
    try:
        with session_scope(engine) as session:
            customers.repo.update(
                session=session, id=member, values={"loyalty_joined_at": EARNED[0]}
            )
            so = orders.repo.create(
                session=session,
                values={
                    "external_id": "SO-9",
                    "customer_id": member,
                    "status": OrderStatus.COMPLETED,
                    "ordered_at": EARNED[1],
                    "net_amount": Decimal("88.80"),
                    "currency": "CNY",
                },
            )
        dry = _json("post", "--dry-run")["run"][0]
        assert (dry["earned"], dry["earned_points"], dry["dry_run"]) == (1, 88, True)
        done = _json("post")["run"][0]
        assert (done["orders"], done["earned_points"]) == (1, 88)
        assert _json("post")["run"][0]["earned_points"] == 0
        with session_scope(engine) as session:
            orders.repo.update(
                session=session, id=so["id"], values={"status": OrderStatus.CANCELLED}
            )
        assert _json("post")["run"][0]["clawed_points"] == 88
    finally:
        engine.dispose()


def test_bonuses_dry_run_then_posted_once(member: int) -> None:
    engine = create_engine(get_settings().database_url)
    try:
        with session_scope(engine) as session:
            customers.repo.update(
                session=session,
                id=member,
                values={"loyalty_joined_at": EARNED[0], "birthday": dt.date(1990, 3, 8)},
            )
    finally:
        engine.dispose()
    dry = _json("bonuses", "--at", "2025-03-20", "--dry-run")
    by_kind = {b["kind"]: b for b in dry["bonuses"]}
    assert (by_kind["birthday"]["entries"], by_kind["birthday"]["points"]) == (1, 200)
    assert dry["dry_run"] is True
    assert _json("expiring", str(member))["balance"] == 280  # nothing written
    done = {b["kind"]: b for b in _json("bonuses", "--at", "2025-03-20")["bonuses"]}
    assert done["birthday"]["points"] == 200
    again = _json("bonuses", "--at", "2025-03-21")["bonuses"]
    assert sum(b["entries"] for b in again) == 0


def test_a_reward_added_redeemed_and_its_voucher_used(
    member: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    added = runner.invoke(
        app,
        [
            "loyalty",
            "reward",
            "TEA",
            "--name-zh",
            "茶叶礼盒",
            "--name-en",
            "Tea box",
            "--kind",
            "gift",
            "--points",
            "250",
            "--stock",
            "1",
        ],
    )
    assert added.exit_code == 0, added.output
    listed = _json("rewards")["rewards"]
    assert [(r["code"], r["points"], r["stock"], r["kind"]) for r in listed] == [
        ("TEA", 250, 1, "gift")
    ]
    redeemed = runner.invoke(app, ["loyalty", "redeem", str(member), "TEA"])
    assert redeemed.exit_code == 0, redeemed.output
    code = redeemed.stdout.strip()
    assert code.startswith("RV-")
    assert _json("expiring", str(member))["balance"] == 30
    assert runner.invoke(app, ["loyalty", "use", code]).exit_code == 0
    monkeypatch.setattr(sys, "argv", ["rapport", "loyalty", "use", code])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as info:
        run()
    assert info.value.code == 6 and code in capsys.readouterr().err
