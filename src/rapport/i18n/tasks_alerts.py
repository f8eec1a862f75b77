"""The texts of tasks and alerts in zh-CN and en: the columns and lines of ``rapport tasks``
and ``rapport alerts``, and the e-mail an alert sends.

:func:`text` picks a ``(zh, en)`` pair of :data:`TEXTS` for the locale and fills its
placeholders.
"""

from __future__ import annotations

from typing import Any

from rapport.i18n.locale import pick

TEXTS: dict[str, tuple[str, str]] = {
    # rapport tasks
    "tasks.title": ("任务", "Tasks"),
    "tasks.id": ("编号", "Id"),
    "tasks.customer_id": ("客户 ID", "Customer id"),
    "tasks.customer": ("客户", "Customer"),
    "tasks.task": ("任务", "Task"),
    "tasks.priority": ("优先级", "Priority"),
    "tasks.status": ("状态", "Status"),
    "tasks.due_at": ("到期", "Due"),
    "tasks.assignee": ("负责人", "Assignee"),
    "tasks.team": ("团队", "Team"),
    "tasks.result": ("结果", "Result"),
    "tasks.note": ("备注", "Note"),
    "tasks.skip_reason": ("跳过原因", "Reason skipped"),
    "tasks.count": ("共 {count} 个任务", "{count} tasks"),
    "tasks.more": ("下一页：--after {after}", "next page: --after {after}"),
    "tasks.done": ("任务 {id} 已完成", "task {id} done"),
    "tasks.skipped": ("任务 {id} 已跳过", "task {id} skipped"),
    "tasks.added": ("已创建任务 {id}", "task {id} added"),
    "tasks.expired": ("{count} 个任务已过期", "{count} tasks expired"),
    # rapport alerts
    "alerts.title": ("告警", "Alerts"),
    "alerts.id": ("编号", "Id"),
    "alerts.kind": ("类型", "Kind"),
    "alerts.severity": ("级别", "Severity"),
    "alerts.status": ("状态", "Status"),
    "alerts.customer": ("客户", "Customer"),
    "alerts.raised_at": ("发出时间", "Raised"),
    "alerts.last_seen_at": ("最近一次", "Last seen"),
    "alerts.details": ("依据", "Evidence"),
    "alerts.count": ("共 {count} 条告警", "{count} alerts"),
    "alerts.acknowledged": ("告警 {id} 已确认", "alert {id} acknowledged"),
    "alerts.resolved": ("告警 {id} 已解决", "alert {id} resolved"),
    "alerts.run": (
        "{day}：新告警 {raised} 条，仍在的 {seen} 条，已自动解决 {resolved} 条，"
        "待发送消息 {messages} 条",
        "{day}: {raised} new alerts, {seen} still there, {resolved} resolved by themselves, "
        "{messages} messages queued",
    ),
    "alerts.run_kind": ("  {kind}：{count}", "  {kind}: {count}"),
    "alerts.not_judged.two_snapshots": (
        "  未判断流失风险与钻石降级：需要两个评分快照",
        "  churn risk and diamond downgrades not judged: they need two score snapshots",
    ),
    # the e-mail of an alert
    "alerts.mail_subject": (
        "[客情告警] {severity}：{kind}{about}",
        "[Rapport alert] {severity}: {kind}{about}",
    ),
    "alerts.mail_customer": ("（客户 {id} {name}）", " (customer {id} {name})"),
    "alerts.mail_metric": ("（{metric}，{day}）", " ({metric}, {day})"),
    "alerts.mail_intro": (
        "{raised_at} 发出告警 {id}：{kind}，级别 {severity}。",
        "Alert {id} raised {raised_at}: {kind}, severity {severity}.",
    ),
    "alerts.mail_evidence": ("依据：", "Evidence:"),
    # the evidence of each kind, from the alert's details
    "alerts.evidence.churn_risk": (
        "流失风险从 {previous_churn_risk} 升到 {churn_risk}（阈值 {threshold}）；价值分层 "
        "{value_tier}，预测客户终身价值 {predicted_clv}；评分快照 {previous_as_of} → {as_of}。",
        "Churn risk rose from {previous_churn_risk} to {churn_risk} (threshold {threshold}); "
        "value tier {value_tier}, predicted CLV {predicted_clv}; score snapshots "
        "{previous_as_of} → {as_of}.",
    ),
    "alerts.evidence.diamond_downgraded": (
        "价值分层从钻石降为 {value_tier}；流失风险 {churn_risk}；"
        "评分快照 {previous_as_of} → {as_of}。",
        "Value tier down from diamond to {value_tier}; churn risk {churn_risk}; score "
        "snapshots {previous_as_of} → {as_of}.",
    ),
    "alerts.evidence.nps_detractor": (
        "{responded_at} 的 NPS 回答：{score}（量表 {scale_min}–{scale_max}）。",
        "NPS answer of {responded_at}: {score} (scale {scale_min}–{scale_max}).",
    ),
    "alerts.evidence.sla_at_risk": (
        "工单 {ticket_id}（优先级 {priority}）的{target}时限 {due_at} 即将到期。",
        "Ticket {ticket_id} (priority {priority}): its {target} target at {due_at} is near.",
    ),
    "alerts.evidence.sla_breached": (
        "工单 {ticket_id}（优先级 {priority}）已超过{target}时限 {due_at}。",
        "Ticket {ticket_id} (priority {priority}) is past its {target} target at {due_at}.",
    ),
    "alerts.evidence.metric_out_of_band": (
        "{day} 的{metric}为 {value}，{direction}预期范围 {low}–{high}（前 {days} 天：均值 "
        "{mean}，标准差 {sd}）。",
        "{metric} of {day}: {value}, {direction} its expected band {low}–{high} (the {days} "
        "days before: mean {mean}, sd {sd}).",
    ),
    "alerts.target.first_response": ("首次响应", "first response"),
    "alerts.target.resolution": ("解决", "resolution"),
    "alerts.direction.above": ("高于", "above"),
    "alerts.direction.below": ("低于", "below"),
    "alerts.metric.revenue": ("销售额", "Revenue"),
    "alerts.metric.new_complaints": ("新增投诉", "New complaints"),
    "alerts.mail_act": (
        "请在客情中确认（rapport alerts ack {id}）并在处理后解决（rapport alerts resolve {id}）。",
        "Acknowledge it in Rapport (rapport alerts ack {id}) and resolve it once handled "
        "(rapport alerts resolve {id}).",
    ),
}


def text(key: str, locale: str = "zh_CN", **params: Any) -> str:
    """The text of ``key`` in ``locale`` with ``params`` filled in."""
    return pick(TEXTS[key], locale).format(**params)
