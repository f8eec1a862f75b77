"""The texts of playbooks in zh-CN and en: the columns of ``rapport playbooks``, the reasons
of a next best action, the figures of a run and of the measured effect.

:func:`text` picks a ``(zh, en)`` pair of :data:`TEXTS` for the locale and fills its
placeholders.
"""

from __future__ import annotations

from typing import Any

from rapport.i18n.locale import pick

TEXTS: dict[str, tuple[str, str]] = {
    # rapport playbooks list / show
    "playbooks.title": ("行动手册", "Playbooks"),
    "playbooks.code": ("代码", "Code"),
    "playbooks.name": ("名称", "Name"),
    "playbooks.enabled": ("启用", "Enabled"),
    "playbooks.source": ("来源", "Source"),
    "playbooks.version": ("版本", "Version"),
    "playbooks.trigger": ("触发", "Trigger"),
    "playbooks.actions": ("动作", "Actions"),
    "playbooks.outcome": ("成效指标", "Outcome"),
    "playbooks.enrolled": ("已纳入", "Enrolled"),
    "playbooks.switched": ("行动手册 {code} 已{state}", "playbook {code} {state}"),
    "playbooks.on": ("启用", "enabled"),
    "playbooks.off": ("停用", "disabled"),
    # rapport playbooks run
    "run.title": ("{day} 的行动手册运行{dry}", "Playbooks run of {day}{dry}"),
    "run.dry": ("（试运行，未写入）", " (dry run, nothing written)"),
    "run.triggered": ("触发", "Triggered"),
    "run.in_audience": ("符合人群", "In audience"),
    "run.already_enrolled": ("已纳入过", "Already enrolled"),
    "run.skipped_consent": ("未同意营销", "No consent"),
    "run.skipped_no_address": ("无联系方式", "No address"),
    "run.skipped_cooldown": ("冷却期内", "Cooldown"),
    "run.skipped_cap": ("超频次上限", "Over cap"),
    "run.eligible": ("符合条件", "Eligible"),
    "run.treated": ("执行组", "Treated"),
    "run.held_out": ("留出组", "Held out"),
    "run.control": ("全局对照", "Control"),
    "run.tasks": ("任务", "Tasks"),
    "run.messages": ("消息", "Messages"),
    "run.rewards": ("积分奖励", "Rewards"),
    "run.alerts": ("告警", "Alerts"),
    "run.tags": ("标签", "Tags"),
    "run.snapshots": (
        "比较评分快照 {previous} → {latest}，{customers} 位客户，用时 {seconds:.1f} 秒",
        "snapshots {previous} → {latest}, {customers} customers, {seconds:.1f} s",
    ),
    "run.measured": ("已衡量 {count} 个纳入记录的成效", "{count} enrolments' outcomes measured"),
    # rapport playbooks effect
    "effect.title": (
        "行动手册成效（执行组对比留出组）",
        "Playbooks' effect (treated against held out)",
    ),
    "effect.treated": ("执行组", "Treated"),
    "effect.holdout": ("留出组", "Held out"),
    "effect.treated_rate": ("执行组成功率", "Treated rate"),
    "effect.holdout_rate": ("留出组成功率", "Held-out rate"),
    "effect.uplift": ("提升（95% 区间）", "Uplift (95 % interval)"),
    "effect.incremental_revenue": ("增量收入", "Incremental revenue"),
    "effect.cost": ("成本", "Cost"),
    "effect.net_return": ("净回报", "Net return"),
    # next best action
    "next.measured": (
        "已衡量的提升 {uplift:+.1%}（执行组 {treated} 人、留出组 {holdout} 人）"
        "× 客户价值 {value:,.0f}",
        "measured uplift {uplift:+.1%} ({treated} treated, {holdout} held out) "
        "× customer value {value:,.0f}",
    ),
    "next.prior": (
        "尚未衡量：先验提升 {uplift:+.1%} × 客户价值 {value:,.0f}",
        "not measured yet: prior uplift {uplift:+.1%} × customer value {value:,.0f}",
    ),
}


def text(key: str, locale: str, **params: Any) -> str:
    """The text ``key`` in ``locale``, its placeholders filled from ``params``."""
    template = pick(TEXTS[key], locale)
    return template.format(**params) if params else template
