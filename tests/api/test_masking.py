"""Masking of personal data for analysts."""

from __future__ import annotations

import datetime as dt

import pytest

from rapport.api.masking import mask_customer, mask_email, mask_name, mask_phone


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+8613812345678", "138****5678"),
        ("13812345678", "138****5678"),
        ("+14155552671", "415***2671"),
        ("+861012345", "*****45"),  # 7 digits or fewer: only the last 2 kept
        (None, None),
        ("", ""),
        ("no digits", "***"),
    ],
)
def test_mask_phone(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("zhang@example.com", "z***@example.com"),
        ("a@b.cn", "a***@b.cn"),
        ("not-an-address", "n***"),
        (None, None),
    ],
)
def test_mask_email(email: str | None, masked: str | None) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("name", "masked"), [("张伟", "张*"), ("欧阳娜娜", "欧*"), ("Wei Zhang", "W*"), (None, None)]
)
def test_mask_name(name: str | None, masked: str | None) -> None:
    assert mask_name(name) == masked


def test_mask_customer_masks_personal_fields_and_keeps_the_rest() -> None:
    row = {
        "id": 7,
        "name": "张伟",
        "phone": "+8613812345678",
        "email": "zhang.wei@example.com",
        "wechat_id": "zw_1988",
        "street": "南京东路 100 号",
        "postal_code": "200001",
        "birthday": dt.date(1988, 5, 1),
        "social_handles": {"weibo": "zhangwei88"},
        "extra": {"id_card": "310101198805010000"},
        "city": "上海市",
        "gender": "male",
        "tags": ["vip"],
    }
    masked = mask_customer(row)
    assert masked == {
        "id": 7,
        "name": "张*",
        "phone": "138****5678",
        "email": "z***@example.com",
        "wechat_id": "z***",
        "street": "***",
        "postal_code": "***",
        "birthday": None,
        "social_handles": {"weibo": "z***"},
        "extra": None,
        "city": "上海市",
        "gender": "male",
        "tags": ["vip"],
    }
    assert row["name"] == "张伟"  # a copy
