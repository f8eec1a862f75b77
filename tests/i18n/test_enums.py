"""Labels and import spellings of the domain enumerations."""

from __future__ import annotations

from enum import StrEnum

import pytest

from rapport import domain
from rapport.i18n import enums
from rapport.i18n.enums import (
    LABELS,
    SYNONYMS,
    domain_enums,
    enum_lookup,
    enum_name,
    label,
    lookup_key,
)

ALL_ENUMS = domain_enums()
FULLWIDTH = {cp: cp + 0xFEE0 for cp in range(0x21, 0x7F)}


def test_every_domain_enum_is_found() -> None:
    found = {e.__name__ for e in ALL_ENUMS}
    assert {"OrderStatus", "Gender", "TicketKind", "LifecycleStage", "AuditAction"} <= found
    declared = {
        name
        for name, obj in vars(domain).items()
        if isinstance(obj, type) and issubclass(obj, StrEnum) and obj is not StrEnum
    }
    assert found == declared


@pytest.mark.parametrize("enum_type", ALL_ENUMS, ids=lambda e: e.__name__)
def test_every_member_has_both_labels(enum_type: type[StrEnum]) -> None:
    assert set(LABELS[enum_type]) == {m.value for m in enum_type}
    for zh, en in LABELS[enum_type].values():
        assert zh.strip() and en.strip()
    zh_labels = [zh for zh, _ in LABELS[enum_type].values()]
    en_labels = [en for _, en in LABELS[enum_type].values()]
    assert len(set(zh_labels)) == len(zh_labels)
    assert len(set(en_labels)) == len(en_labels)


@pytest.mark.parametrize("enum_type", ALL_ENUMS, ids=lambda e: e.__name__)
def test_value_and_labels_map_back_to_the_member(enum_type: type[StrEnum]) -> None:
    lookup = enum_lookup(enum_type)
    for member in enum_type:
        zh, en = LABELS[enum_type][member.value]
        for spelling in (member.value, zh, en, label(member, "zh_CN"), label(member, "en")):
            assert lookup[lookup_key(spelling)] == member.value
            assert lookup[lookup_key(spelling.upper())] == member.value
            assert lookup[lookup_key(" " + spelling.translate(FULLWIDTH) + "\u3000")] == (
                member.value
            )


@pytest.mark.parametrize("enum_type", ALL_ENUMS, ids=lambda e: e.__name__)
def test_every_synonym_names_exactly_its_member(enum_type: type[StrEnum]) -> None:
    lookup = enum_lookup(enum_type)  # raises if one spelling would name two members
    values = {m.value for m in enum_type}
    for spelling, value in SYNONYMS.get(enum_type, {}).items():
        assert value in values
        assert lookup[lookup_key(spelling)] == value, spelling


def test_synonyms_belong_to_domain_enums() -> None:
    assert set(SYNONYMS) <= set(ALL_ENUMS)
    assert set(LABELS) == set(ALL_ENUMS)


@pytest.mark.parametrize(
    ("enum_type", "spellings", "value"),
    [
        (
            domain.OrderStatus,
            ["已完成", "完成", "交易成功", "已签收", "success", "done", "Completed", "delivered"],
            "completed",
        ),
        (domain.OrderStatus, ["待付款", "等待买家付款", "unpaid", "Awaiting payment"], "pending"),
        (domain.OrderStatus, ["已付款", "待发货", "买家已付款", "paid", "Processing"], "paid"),
        (domain.OrderStatus, ["已发货", "卖家已发货", "待收货", "in transit"], "shipped"),
        (domain.OrderStatus, ["退款中", "申请退款", "售后中", "refund requested"], "refunding"),
        (domain.OrderStatus, ["已取消", "取消", "交易关闭", "closed", "canceled"], "cancelled"),
        (domain.OrderStatus, ["已退款", "退款", "退货退款", "refund", "REFUNDED"], "refunded"),
        (domain.Direction, ["未知", "不详", "unknown"], "unknown"),
        (domain.Gender, ["男", "男性", "M", "m", "Male"], "male"),
        (domain.Gender, ["女", "女性", "F", "f", "female"], "female"),
        (domain.TicketKind, ["投诉"], "complaint"),
        (domain.TicketKind, ["建议"], "suggestion"),
        (domain.TicketKind, ["咨询"], "inquiry"),
        (domain.TicketKind, ["表扬"], "praise"),
        (domain.TicketPriority, ["低"], "low"),
        (domain.TicketPriority, ["普通", "一般"], "normal"),
        (domain.TicketPriority, ["高"], "high"),
        (domain.TicketPriority, ["紧急", "urgent"], "urgent"),
        (domain.TicketStatus, ["处理中", "In progress", "in-progress"], "in_progress"),
        (domain.SurveyKind, ["满意度", "CSAT", "客户满意度"], "csat"),
        (domain.SurveyKind, ["推荐度", "NPS", "净推荐值"], "nps"),
        (domain.InteractionChannel, ["电话"], "phone"),
        (domain.InteractionChannel, ["邮件"], "email"),
        (domain.InteractionChannel, ["在线客服"], "chat"),
        (domain.InteractionChannel, ["到店"], "visit"),
        (domain.InteractionChannel, ["社交"], "social"),
        (domain.InteractionChannel, ["售后", "After-sales", "after sales"], "after_sales"),
        (domain.Direction, ["呼入"], "inbound"),
        (domain.Direction, ["呼出"], "outbound"),
        (domain.LeadStatus, ["新建"], "new"),
        (domain.LeadStatus, ["已确认"], "qualified"),
        (domain.LeadStatus, ["已转化"], "converted"),
        (domain.LeadStatus, ["丢失"], "lost"),
        (domain.LoyaltyReason, ["消费"], "purchase"),
        (domain.LoyaltyReason, ["兑换"], "redeem"),
        (domain.LoyaltyReason, ["赠送"], "bonus"),
        (domain.LoyaltyReason, ["推荐"], "referral"),
        (domain.LoyaltyReason, ["生日"], "birthday"),
        (domain.LoyaltyReason, ["评价"], "review"),
        (domain.LoyaltyReason, ["过期"], "expire"),
        (domain.LoyaltyReason, ["调整"], "adjust"),
        (domain.EventKind, ["浏览"], "page_view"),
        (domain.EventKind, ["加购", "加入购物车", "Add to cart"], "add_to_cart"),
        (domain.CampaignChannel, ["短信"], "sms"),
        (domain.CampaignChannel, ["邮件"], "email"),
        (domain.CampaignChannel, ["微信"], "wechat"),
        (domain.CampaignChannel, ["推送", "App push"], "app_push"),
    ],
)
def test_synonyms_of_real_exports(
    enum_type: type[StrEnum], spellings: list[str], value: str
) -> None:
    lookup = enum_lookup(enum_type)
    for spelling in spellings:
        assert lookup[lookup_key(spelling)] == value, spelling


def test_label_by_locale() -> None:
    assert label(domain.OrderStatus.COMPLETED, "zh_CN") == "已完成"
    assert label(domain.OrderStatus.COMPLETED, "zh-CN") == "已完成"
    assert label(domain.OrderStatus.COMPLETED, "en") == "Completed"
    assert label(domain.ValueTier.DIAMOND, "zh_CN") == "钻石"
    with pytest.raises(ValueError, match="locale"):
        label(domain.OrderStatus.COMPLETED, "fr")


def test_lookup_key_folds_case_width_and_separators() -> None:
    assert lookup_key("  In Progress ") == "in_progress"
    assert lookup_key("ＩＮ－ＰＲＯＧＲＥＳＳ") == "in_progress"
    assert lookup_key("after__sales") == "after_sales"
    assert lookup_key("已完成\u3000") == "已完成"


def test_enum_name_is_readable() -> None:
    assert enum_name(domain.OrderStatus) == "order status"
    assert enum_name(domain.Gender) == "gender"


def test_a_spelling_naming_two_members_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Colour(StrEnum):
        RED = "red"
        BLUE = "blue"

    monkeypatch.setitem(LABELS, Colour, {"red": ("红", "Red"), "blue": ("蓝", "Blue")})
    monkeypatch.setitem(SYNONYMS, Colour, {"RED": "blue"})
    with pytest.raises(ValueError, match="both"):
        enums.enum_lookup(Colour)


def test_a_synonym_of_no_member_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Shape(StrEnum):
        ROUND = "round"

    monkeypatch.setitem(SYNONYMS, Shape, {"圆": "square"})
    with pytest.raises(ValueError, match="names no member"):
        enums.enum_lookup(Shape)
