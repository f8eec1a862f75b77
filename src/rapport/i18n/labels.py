"""User-facing labels of the CLI and reports, in zh-CN and en.

Keys are stable ids; :func:`t` picks the language of the configured locale. Enum labels
(order status, ticket kind …) live in :mod:`rapport.i18n.enums`.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # tables of the store
    "users": ("员工", "Staff users"),
    "customers": ("客户", "Customers"),
    "leads": ("潜在客户(线索)", "Leads"),
    "products": ("商品", "Products"),
    "campaigns": ("营销活动", "Campaigns"),
    "orders": ("订单", "Orders"),
    "order_items": ("订单明细", "Order items"),
    "events": ("行为事件", "Behaviour events"),
    "interactions": ("互动记录", "Interactions"),
    "tickets": ("服务工单", "Service tickets"),
    "survey_responses": ("问卷回答", "Survey responses"),
    "referrals": ("推荐记录", "Referrals"),
    "campaign_deliveries": ("活动触达", "Campaign deliveries"),
    "loyalty_ledger": ("积分流水", "Loyalty ledger"),
    # summary figures
    "company": ("样例公司", "Sample company"),
    "period": ("数据期间", "Period"),
    "buyers": ("购买客户数", "Buyers"),
    "repeat_buyers": ("复购客户数", "Repeat buyers"),
    "completed_orders": ("已完成订单", "Completed orders"),
    "revenue": ("销售额", "Revenue"),
    "complaints": ("投诉工单", "Complaint tickets"),
    "open_tickets": ("未关闭工单", "Open tickets"),
    "loyalty_points": ("积分余额合计", "Loyalty points outstanding"),
    "import": ("导入", "Import"),
    "entity": ("数据", "Entity"),
    "read": ("读取", "Read"),
    "inserted": ("新增", "Inserted"),
    "updated": ("更新", "Updated"),
    "unchanged": ("未变", "Unchanged"),
    "rejected": ("拒绝", "Rejected"),
    "rows_per_second": ("行/秒", "Rows/s"),
    "rows": ("行数", "Rows"),
    "figure": ("指标", "Figure"),
    "value": ("数值", "Value"),
}


def t(key: str, locale: str = "zh_CN") -> str:
    """The label of ``key`` in ``locale`` (``zh_CN`` or ``en``); the key itself if unknown."""
    zh, en = LABELS.get(key, (key, key))
    return zh if locale.startswith("zh") else en
