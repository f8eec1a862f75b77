"""The texts of the loyalty programme report 会员计划评估 in zh-CN and en.

:func:`text` picks a ``(zh, en)`` pair of :data:`TEXTS` for the locale and fills its
placeholders; the tier names are those of :data:`rapport.store.loyalty.TIER_NAMES`.
"""

from __future__ import annotations

from typing import Any

from rapport.i18n.locale import pick

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("会员计划评估 截至 {as_of}", "Loyalty programme report as of {as_of}"),
    # the comparison
    "comparison": (
        "会员与可比非会员：入会后 {window} 个月",
        "Members against comparable non-members: the {window} months after joining",
    ),
    "matching": (
        "{matched:,}/{members:,} 位会员（{joined_from} 至 {joined_until} 入会）与 {controls:,} "
        "个非会员观测在 {strata:,} 个分层中匹配：入会月份、入会前 {baseline} 个月的购买次数与"
        "消费额、客户时长；非会员以会员入会当月月初为参照日。区间为分层 Welch 95% 区间。"
        "客户价值为窗口内实际净收入，不是预测 CLV。匹配只能消除入会前可见的差异。",
        "{matched:,} of {members:,} members (joined {joined_from} to {joined_until}) matched "
        "with {controls:,} non-member observations in {strata:,} strata: joining month, "
        "purchases and spend in the {baseline} months before joining, tenure; non-members "
        "are observed from the start of the member's joining month. Intervals: stratified "
        "Welch, 95 %. Customer value is the net revenue of the window, not predicted CLV. "
        "Matching removes only the differences visible before joining.",
    ),
    "no_comparison": (
        "没有入会已满 {window} 个月的会员，无法比较。",
        "No member joined {window} months or more ago: nothing to compare yet.",
    ),
    "outcome": ("指标", "Outcome"),
    "members": ("会员", "Members"),
    "non_members": ("匹配非会员", "Matched non-members"),
    "difference": ("差异", "Difference"),
    "interval": ("95% 区间", "95 % interval"),
    "relative": ("相对差异", "Relative"),
    "outcome.retention": ("留存率", "Retention"),
    "outcome.purchases_per_customer": ("人均购买次数", "Purchases"),
    "outcome.average_order_value": ("客单价", "Order value"),
    "outcome.value_in_window": ("客户价值", "Value"),
    "definitions": (
        "留存率：窗口内有购买的比例；人均购买次数：窗口内购买次数（无购买计 0）；"
        "客单价：窗口内有购买者的收入 / 次数；客户价值：窗口内购买净额（无购买计 0）。",
        "Retention: share buying in the window; purchases: purchases in the window per "
        "customer (0 for none); order value: revenue / purchases of those buying; value: net "
        "revenue in the window per customer (0 for none).",
    ),
    # health
    "health": ("计划健康度", "Programme health"),
    "figure": ("指标", "Figure"),
    "window": ("近 {window} 个月", "Last {window} months"),
    "to_date": ("累计", "To date"),
    "health_note": (
        "获得积分已扣除扣回；兑换率 = 兑换 / 获得，过期率（breakage）= 过期 / 获得；"
        "积分负债 = 未兑积分 × 每分价值 {point_value}（[costs] point_value）。",
        "Points earned net of clawbacks; redemption rate = redeemed / earned, breakage = "
        "expired / earned; liability = points outstanding × {point_value} a point "
        "([costs] point_value).",
    ),
    "health.members": ("会员数", "Members"),
    "health.active_customers": ("活跃客户", "Active customers"),
    "health.active_members": ("活跃会员", "Active members"),
    "health.participation": ("参与率（活跃会员 / 活跃客户）", "Participation (of active)"),
    "health.balance": ("未兑积分", "Points outstanding"),
    "health.liability": ("积分负债", "Liability"),
    "health.earned": ("获得积分", "Points earned"),
    "health.redeemed": ("兑换积分", "Points redeemed"),
    "health.expired": ("过期积分", "Points expired"),
    "health.adjusted": ("调整积分（净额）", "Points adjusted (net)"),
    "health.redemption_rate": ("兑换率", "Redemption rate"),
    "health.breakage_rate": ("过期率（breakage）", "Breakage"),
    "health.vouchers_issued": ("发放兑换券", "Vouchers issued"),
    "health.vouchers_used": ("已使用兑换券", "Vouchers used"),
    # tiers
    "tiers": ("会员等级（月末）与变动", "Members per tier at month end, and movements"),
    "month": ("月份", "Month"),
    "upgrades": ("升级", "Upgrades"),
    "downgrades": ("降级", "Downgrades"),
    "joined": ("新入会", "Joined"),
}


def text(key: str, locale: str, **params: Any) -> str:
    """The text ``key`` of :data:`TEXTS` in ``locale``, its placeholders filled."""
    found = pick(TEXTS[key], locale)
    return found.format(**params) if params else found
