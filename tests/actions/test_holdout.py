"""Holdout assignment (rapport.actions.holdout): deterministic, the same one customer at a time
and for an array, held-out shares within binomial bounds, playbooks independent, and the
global control group the same for every playbook."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from rapport.actions.holdout import (
    DEFAULT_HOLDOUT_SHARE,
    assign_arms,
    control_draw,
    control_draws,
    global_control,
    holdout_draw,
    holdout_draws,
    is_held_out,
)
from rapport.domain import EnrolmentArm
from rapport.errors import ValidationFailed

IDS = np.arange(1, 100_001, dtype=np.int64)
CONFIDENCE = 0.999


def binomial_bounds(n: int, p: float) -> tuple[float, float]:
    """The 99.9 % interval of a Binomial(n, p) count (scipy)."""
    return stats.binom.interval(CONFIDENCE, n, p)


def spec_draw(message: bytes) -> float:
    """The draw as docs/actions.md and the module describe it, computed here from scratch."""
    digest = hashlib.blake2b(message, digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / 2**53


def test_the_draw_is_the_documented_hash() -> None:
    code, salt = "birthday_greeting", "2026"
    message = b"rapport/holdout/v1\x00" + b"4:2026" + b"17:" + code.encode() + b"123456"
    assert holdout_draw(123456, code, salt) == spec_draw(message)
    control = b"rapport/control/v1\x00" + b"0:" + b"42"
    assert control_draw(42) == spec_draw(control)
    chinese = "钻石客户关怀"  # 6 characters, 18 bytes of UTF-8
    message = b"rapport/holdout/v1\x00" + b"0:" + b"18:" + chinese.encode() + b"7"
    assert holdout_draw(7, chinese) == spec_draw(message)


def test_the_draw_is_the_same_in_another_process() -> None:
    """No ``hash()``: a process with another hash seed draws the same numbers."""
    here = [holdout_draw(i, "win_back", "s") for i in (1, 2, 3, 10**12)]
    script = (
        "from rapport.actions.holdout import holdout_draw\n"
        "print([holdout_draw(i, 'win_back', 's') for i in (1, 2, 3, 10**12)])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == repr(here)


def test_decisions_are_deterministic() -> None:
    first = [is_held_out(i, "nps_detractor", 0.3, global_control_share=0.1) for i in range(500)]
    again = [is_held_out(i, "nps_detractor", 0.3, global_control_share=0.1) for i in range(500)]
    assert first == again
    assert np.array_equal(assign_arms(IDS, "x", 0.2, 0.05), assign_arms(IDS, "x", 0.2, 0.05))


@pytest.mark.parametrize(("share", "global_share"), [(0.1, 0.0), (0.25, 0.05), (0.0, 0.2)])
def test_the_array_version_is_the_scalar_one(share: float, global_share: float) -> None:
    ids = np.concatenate([np.arange(0, 3000), [2**62, 2**63 - 1, -5]]).astype(np.int64)
    decisions = [
        is_held_out(int(i), "diamond_at_risk", share, global_control_share=global_share, salt="q")
        for i in ids
    ]
    held = assign_arms(ids, "diamond_at_risk", share, global_share, "q")
    control = global_control(ids, global_share, "q")
    assert held.tolist() == [d.held_out for d in decisions]
    assert control.tolist() == [d.global_control for d in decisions]
    draws = holdout_draws(ids, "diamond_at_risk", "q")
    assert draws.tolist() == [holdout_draw(int(i), "diamond_at_risk", "q") for i in ids]
    assert control_draws(ids, "q").tolist() == [control_draw(int(i), "q") for i in ids]
    # lists, ranges and generators of ints give the same answer as an array
    assert assign_arms(ids.tolist(), "diamond_at_risk", share, global_share, "q").tolist() == (
        held.tolist()
    )
    assert assign_arms((int(i) for i in ids), "diamond_at_risk", share, global_share, "q").tolist()


@pytest.mark.parametrize("share", [0.1, 0.02, 0.5])
def test_the_held_out_share_is_within_binomial_bounds(share: float) -> None:
    held = assign_arms(IDS, "second_purchase", share)
    low, high = binomial_bounds(len(IDS), share)
    assert low <= held.sum() <= high


def test_the_draws_are_uniform() -> None:
    draws = holdout_draws(IDS, "points_expiring")
    assert ((draws >= 0) & (draws < 1)).all()
    assert stats.kstest(draws, "uniform").pvalue > 1 - CONFIDENCE


def test_shares_zero_and_one() -> None:
    assert not assign_arms(IDS, "birthday_greeting", 0.0).any()
    assert assign_arms(IDS, "birthday_greeting", 1.0).all()
    assert is_held_out(5, "birthday_greeting", 0.0).arm is EnrolmentArm.TREATED
    assert is_held_out(5, "birthday_greeting", 1.0).arm is EnrolmentArm.HOLDOUT
    everybody = is_held_out(5, "birthday_greeting", 0.0, global_control_share=1.0)
    assert everybody.arm is EnrolmentArm.CONTROL and everybody.global_control
    assert global_control(IDS, 1.0).all() and not global_control(IDS, 0.0).any()


def test_the_default_share_is_ten_percent() -> None:
    assert DEFAULT_HOLDOUT_SHARE == 0.10
    held = sum(is_held_out(int(i), "tier_upgrade").held_out for i in IDS[:20_000])
    assert binomial_bounds(20_000, 0.10)[0] <= held <= binomial_bounds(20_000, 0.10)[1]


def test_playbooks_hold_out_independently() -> None:
    """Two playbooks' holdouts overlap in about share² of the customers."""
    share = 0.1
    a = assign_arms(IDS, "win_back", share)
    b = assign_arms(IDS, "referral_ask", share)
    low, high = binomial_bounds(len(IDS), share * share)
    assert low <= (a & b).sum() <= high
    assert not np.array_equal(a, b)


def test_a_salt_draws_anew() -> None:
    a = assign_arms(IDS, "win_back", 0.1, salt="")
    b = assign_arms(IDS, "win_back", 0.1, salt="2027")
    low, high = binomial_bounds(len(IDS), 0.01)
    assert low <= (a & b).sum() <= high


def test_the_global_control_group_is_the_same_for_every_playbook() -> None:
    global_share, share = 0.05, 0.1
    control = global_control(IDS, global_share)
    low, high = binomial_bounds(len(IDS), global_share)
    assert low <= control.sum() <= high
    for code in ("win_back", "birthday_greeting", "钻石客户关怀"):
        held = assign_arms(IDS, code, share, global_share)
        assert held[control].all()  # the control group never gets a playbook
        # outside the control group, the playbook's own share
        outside = held[~control]
        low, high = binomial_bounds(len(outside), share)
        assert low <= outside.sum() <= high
    overall = global_share + (1 - global_share) * share
    low, high = binomial_bounds(len(IDS), overall)
    assert low <= assign_arms(IDS, "win_back", share, global_share).sum() <= high
    sample = [int(i) for i in IDS[control][:50]]
    assert all(
        is_held_out(i, code, share, global_control_share=global_share).arm is EnrolmentArm.CONTROL
        for i in sample
        for code in ("win_back", "referral_ask")
    )


@settings(max_examples=200, deadline=None)
@given(
    customer=st.integers(-(2**70), 2**70),
    code=st.text(min_size=1).filter(str.strip),
    salt=st.text(),
    share=st.floats(0, 1),
)
def test_any_customer_and_code_get_a_draw_in_the_unit_interval(
    customer: int, code: str, salt: str, share: float
) -> None:
    draw = holdout_draw(customer, code, salt)
    assert 0.0 <= draw < 1.0
    assert is_held_out(customer, code, share, salt=salt).held_out == (draw < share)
    # the code is compared as text, not as a byte sequence of one normal form
    assert holdout_draw(customer, unicodedata.normalize("NFD", code), salt) == draw


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan"), float("inf"), "0.1", True, None])
def test_a_share_outside_zero_to_one_is_refused_with_its_name(share: object) -> None:
    with pytest.raises(ValidationFailed) as raised:
        is_held_out(1, "win_back", share)  # type: ignore[arg-type]
    assert raised.value.field == "holdout_share"
    with pytest.raises(ValidationFailed) as raised:
        assign_arms(IDS[:3], "win_back", 0.1, share)  # type: ignore[arg-type]
    assert raised.value.field == "global_control_share"


def test_ids_and_codes_that_are_mistakes_of_the_caller() -> None:
    with pytest.raises(TypeError):
        holdout_draw(True, "win_back")
    with pytest.raises(TypeError):
        holdout_draw(1.0, "win_back")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        assign_arms(np.array([1.0, 2.0]), "win_back")
    with pytest.raises(TypeError):
        assign_arms(np.array([True, False]), "win_back")
    with pytest.raises(ValueError):
        assign_arms(np.ones((2, 2), dtype=int), "win_back")
    with pytest.raises(ValueError):
        holdout_draw(1, " ")
    assert assign_arms(np.array([], dtype=np.int64), "win_back").shape == (0,)
    assert assign_arms([], "win_back", 0.1, 0.1).shape == (0,)
