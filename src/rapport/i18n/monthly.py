"""The texts of the monthly management report 月度客户关系报告 in zh-CN and en.

:func:`text` picks a ``(zh, en)`` pair of :data:`TEXTS` for the locale and fills its
placeholders; labels shared with the other reports (the degrees, the groupings) stay in
:mod:`rapport.i18n.labels`, metric names in :data:`rapport.analytics.metrics.METRICS`.
"""

from __future__ import annotations

from typing import Any

from rapport.i18n.locale import pick

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("月度客户关系报告", "Monthly customer relationship report"),
    "subtitle": (
        "{month} · 本月快照 {day} · 对比快照 {previous}",
        "{month} · snapshot {day} · compared with the snapshot of {previous}",
    ),
    "subtitle_alone": (
        "{month} · 本月快照 {day} · 此前没有可对比的快照",
        "{month} · snapshot {day} · no earlier snapshot to compare with",
    ),
    "scope_all": ("范围：全部客户", "Scope: every customer"),
    "scope_some": ("范围：您可查看的客户", "Scope: the customers you may see"),
    "masked": ("客户编号与姓名已脱敏", "Customer numbers and names are masked"),
    "generated": ("生成于 {moment}", "Generated {moment}"),
    "page": ("第 {page} 页", "Page {page}"),
    # sections
    "changes": ("本月主要变化", "What changed"),
    "changes_note": (
        "按相对变化幅度排序：|本期 − 上期| / |上期|；少于 {min} 位客户的分组不计入",
        "Largest relative changes first: |now − before| / |before|; groups of fewer than "
        "{min} customers are left out",
    ),
    "changes_none": ("没有可比较的变化", "Nothing to compare"),
    "metrics": ("核心指标", "Headline metrics"),
    "metrics_note": (
        "全公司口径；本月 {start} 至 {end}，对比上月 {previous_start} 至 {previous_end}（{tz}）",
        "Company-wide; this month {start} to {end} against the month before, "
        "{previous_start} to {previous_end} ({tz})",
    ),
    "metrics_none": ("本报告未计算指标", "The metrics were not computed for this report"),
    "service": ("服务与投诉", "Service and complaints"),
    "relationships": ("客户关系与风险价值", "Relationships and value at risk"),
    "relationships_note": (
        "评分快照 {day} 对比 {previous}；风险价值 = 流失风险 × 预测 CLV 之和",
        "Score snapshot {day} against {previous}; value at risk = Σ churn risk × predicted CLV",
    ),
    "for_whom": ("变化最大的 RFM 分群", "The RFM segments that changed most"),
    "diamonds": ("钻石客户得失", "Diamond customers gained and lost"),
    "diamonds_note": (
        "新晋 {gained} 位，流失 {lost} 位（列出前 {listed} 位）",
        "{gained} gained, {lost} lost (the first {listed} listed)",
    ),
    "movements": ("客户迁移：{what}", "Movements: {what}"),
    "no_previous": ("此前没有可对比的快照", "No earlier snapshot to compare with"),
    "definitions": ("口径说明", "Definitions"),
    "definitions_text": (
        "指标定义见 docs/metrics.md，评分见 docs/scores.md；无数据显示为“—”，不是 0。"
        "本月快照为该月最后一个评分快照，对比快照为该月之前最近的一个。",
        "Metrics are defined in docs/metrics.md, scores in docs/scores.md; no data shows as "
        "“—”, never 0. The month's snapshot is its latest score snapshot, the comparison "
        "snapshot the latest one before the month.",
    ),
    # columns
    "item": ("项目", "Item"),
    "metric": ("指标", "Metric"),
    "month_value": ("本月", "This month"),
    "previous_value": ("上月", "Month before"),
    "snapshot_value": ("本月快照", "Snapshot"),
    "previous_snapshot_value": ("对比快照", "Compared with"),
    "before": ("之前", "Before"),
    "after": ("之后", "After"),
    "change": ("变化", "Change"),
    "relative": ("相对变化", "Relative change"),
    "numerator": ("分子", "Numerator"),
    "denominator": ("分母", "Denominator"),
    "group": ("分组", "Group"),
    "customers": ("客户数", "Customers"),
    "previous_customers": ("对比快照客户数", "Customers before"),
    "customer_share": ("客户占比", "Customer share"),
    "revenue_share": ("收入占比", "Revenue share"),
    "relationship_index": ("关系指数", "Relationship index"),
    "relationship_index_change": ("关系指数变化", "Index change"),
    "from": ("从", "From"),
    "to": ("到", "To"),
    "customer": ("客户", "Customer"),
    "direction": ("变动", "Move"),
    "direction.in": ("新晋", "Gained"),
    "direction.out": ("流失", "Lost"),
    "monetary": ("窗口收入", "Window revenue"),
    "churn_risk": ("流失风险", "Churn risk"),
    "reasons": ("原因", "Reasons"),
    "none_group": ("（无）", "(none)"),
    "hours": ("{value} 小时", "{value} h"),
    # the snapshot figures
    "snap.customers": ("已评分客户", "Scored customers"),
    "snap.avg_satisfaction": ("平均满意度", "Mean satisfaction"),
    "snap.avg_loyalty": ("平均忠诚度", "Mean loyalty"),
    "snap.avg_engagement": ("平均参与度", "Mean engagement"),
    "snap.avg_advocacy": ("平均推荐度", "Mean advocacy"),
    "snap.avg_relationship_index": ("平均客户关系指数", "Mean relationship index"),
    "snap.diamonds": ("钻石客户", "Diamond customers"),
    "snap.value_at_risk": ("风险价值", "Value at risk"),
    "snap.share": ("风险价值占预测 CLV 比例", "Value at risk / predicted CLV"),
    "snap.at_risk": ("高风险客户（风险 ≥ 0.5）", "Customers at risk (risk ≥ 0.5)"),
    "snap.at_risk_value": ("高风险客户的风险价值", "Value at risk of those at risk"),
    # charts
    "chart.degrees": ("四度与关系指数", "The four degrees and the relationship index"),
    "chart.tiers": ("价值分层客户数", "Customers per value tier"),
}


def text(key: str, locale: str, **params: Any) -> str:
    """The text ``key`` of :data:`TEXTS` in ``locale``, its placeholders filled."""
    found = pick(TEXTS[key], locale)
    return found.format(**params) if params else found
