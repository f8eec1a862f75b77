"""The texts of the 360 card's loyalty panel: vouchers, redeeming a reward, using a
voucher."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "card_loyalty.available": ("可用积分", "Points available"),
    "card_loyalty.tier_review": ("（下次复核 {date}）", "(next review {date})"),
    "card_loyalty.no_tier": ("非会员", "Not a member"),
    "card_loyalty.next_tier_label": ("下一等级", "Next tier"),
    "card_loyalty.next_tier": (
        "{tier}（{basis}还差 {missing}）",
        "{tier} ({missing} more {basis})",
    ),
    "card_loyalty.basis_spend": ("消费额", "spend"),
    "card_loyalty.basis_points": ("积分", "points"),
    "card_loyalty.benefits": ("等级礼遇", "Tier benefits"),
    "card_loyalty.multiplier": ("积分 ×{times}", "points ×{times}"),
    "card_loyalty.priority": ("服务优先级{priority}", "{priority} service priority"),
    "card_loyalty.vouchers": ("兑换券", "Vouchers"),
    "card_loyalty.voucher_counts": (
        "已发放 {issued} 张,已使用 {used} 张",
        "{issued} issued, {used} used",
    ),
    "card_loyalty.redeem_label": ("兑换奖励", "Redeem a reward"),
    "card_loyalty.reward_option": (
        "{name}({kind})· {points} 积分",
        "{name} ({kind}) · {points} points",
    ),
    "card_loyalty.stock_left": ("剩余 {count}", "{count} left"),
    "card_loyalty.redeem": ("兑换", "Redeem"),
    "card_loyalty.no_reward": (
        "可用积分 {points},目录中没有可兑换的奖励",
        "No reward of the catalogue for the {points} points available",
    ),
    "card_loyalty.choose_reward": ("请选择一个奖励", "Choose a reward"),
    "card_loyalty.issued": ("已兑换,兑换券 {code}", "Redeemed: voucher {code}"),
    "card_loyalty.used_now": ("兑换券 {code} 已标记为已使用", "Voucher {code} marked used"),
    "card_loyalty.not_done": ("未完成", "Not done"),
    "card_loyalty.code": ("券号", "Code"),
    "card_loyalty.reward": ("奖励", "Reward"),
    "card_loyalty.issued_at": ("发放日期", "Issued"),
    "card_loyalty.state": ("状态", "State"),
    "card_loyalty.used_on": ("已于 {date} 使用", "Used on {date}"),
    "card_loyalty.not_used": ("未使用", "Not used"),
    "card_loyalty.use": ("标记为已使用", "Mark used"),
    "card_loyalty.use_label": ("将兑换券 {code} 标记为已使用", "Mark the voucher {code} used"),
    "card_loyalty.no_vouchers": ("暂无兑换券", "No vouchers yet"),
}
