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
    # per-customer scores (METRICS.md "Per-customer scores")
    "satisfaction": ("满意度", "Satisfaction"),
    "loyalty": ("忠诚度", "Loyalty"),
    "engagement": ("参与度", "Engagement"),
    "advocacy": ("推荐度", "Advocacy"),
    "relationship_index": ("客户关系指数", "Relationship index"),
    "recency_days": ("最近购买(天前)", "Recency (days)"),
    "frequency": ("购买次数", "Frequency"),
    "monetary": ("消费金额", "Monetary"),
    "r_score": ("R分", "R score"),
    "f_score": ("F分", "F score"),
    "m_score": ("M分", "M score"),
    "rfm": ("RFM", "RFM"),
    "rfm_segment": ("RFM分群", "RFM segment"),
    "value_tier": ("价值分层", "Value tier"),
    "lifecycle_stage": ("生命周期阶段", "Lifecycle stage"),
    "lifecycle_phase": ("生命周期", "Lifecycle phase"),
    "coverage": ("覆盖率", "Coverage"),
    # RFM segments (the segment map in [scores.rfm] names them by these ids)
    "segment.champions": ("重要价值客户", "Champions"),
    "segment.loyal": ("忠诚客户", "Loyal"),
    "segment.potential_loyalist": ("潜力客户", "Potential loyalist"),
    "segment.new": ("新客户", "New"),
    "segment.need_attention": ("需要关注", "Need attention"),
    "segment.about_to_sleep": ("即将沉睡", "About to sleep"),
    "segment.at_risk": ("重要挽留客户", "At risk / Can't lose"),
    "segment.hibernating": ("沉睡客户", "Hibernating"),
    "segment.lost": ("流失客户", "Lost"),
    # the five lifecycle phases the stages map onto
    "phase.acquisition": ("获取", "Acquisition"),
    "phase.conversion": ("转化", "Conversion"),
    "phase.maintenance": ("维护", "Maintenance"),
    "phase.growth": ("成长", "Growth"),
    "phase.win_back": ("挽回", "Win-back"),
    # value tier conditions (why a customer is, or is not, in a tier)
    "check.revenue": ("贡献(窗口内消费排名)", "Contribution (revenue rank in window)"),
    "check.loyalty": ("忠诚度", "Loyalty"),
    "check.satisfaction": ("满意度", "Satisfaction"),
    "check.engagement": ("参与度", "Engagement"),
    "check.stage": ("生命周期阶段", "Lifecycle stage"),
}


def t(key: str, locale: str = "zh_CN") -> str:
    """The label of ``key`` in ``locale`` (``zh_CN`` or ``en``); the key itself if unknown."""
    zh, en = LABELS.get(key, (key, key))
    return zh if locale.startswith("zh") else en
