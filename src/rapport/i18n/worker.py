"""The texts of ``rapport outbox`` and ``rapport worker`` in zh-CN and en.

:func:`text` picks a ``(zh, en)`` pair of :data:`TEXTS` for the locale and fills its
placeholders; the channel and status names are those of :mod:`rapport.i18n.enums`.
"""

from __future__ import annotations

from typing import Any

from rapport.i18n.locale import pick

TEXTS: dict[str, tuple[str, str]] = {
    # rapport outbox list | stats | send | retry
    "list_title": ("发件箱", "Outbox"),
    "id": ("编号", "Id"),
    "key": ("幂等键", "Idempotency key"),
    "channel": ("渠道", "Channel"),
    "recipient": ("收件人", "Recipient"),
    "status": ("状态", "Status"),
    "attempts": ("尝试次数", "Attempts"),
    "next_attempt_at": ("下次尝试", "Next attempt"),
    "last_error": ("最近错误", "Last error"),
    "created_at": ("创建时间", "Created"),
    "sent_at": ("发送时间", "Sent"),
    "messages": ("消息数", "Messages"),
    "stats_title": ("发件箱统计", "Outbox by channel and status"),
    "due": (
        "当前待发送 {due:,} 条，最早的自 {oldest} 起待发",
        "{due:,} due now, the oldest since {oldest}",
    ),
    "nothing_due": ("当前没有待发送的消息", "nothing due now"),
    "send_title": ("本次发送", "Messages sent"),
    "claimed": ("领取", "Claimed"),
    "sent": ("已发送", "Sent"),
    "retried": ("稍后重试", "To retry"),
    "dead": ("进入死信", "Dead letters"),
    "refused": ("未发（无营销许可）", "Refused (no consent)"),
    "lost": ("租约丢失", "Lease lost"),
    "seconds": ("秒", "Seconds"),
    "retry_done": (
        "消息 {id}（原状态：{status}）将立即重新发送，尝试次数已清零",
        "message {id} (was {status}) will be sent again now, its attempts counted afresh",
    ),
    # rapport worker
    "day_title": ("{day} 的每日流程", "Daily pipeline of {day}"),
    "step": ("步骤", "Step"),
    "outcome": ("结果", "Outcome"),
    "summary": ("摘要", "Summary"),
    "step_done": ("完成", "done"),
    "step_already done": ("此前已完成", "done before"),
    "step_failed": ("失败", "failed"),
    "nothing_to_run": (
        "没有需要运行的日期：截至现在到期的每一天都已完成",
        "nothing to run: every day due by now is done",
    ),
    "busy": (
        "另一个进程（{holder}）正在运行每日流程，租约到 {until}；本进程不运行",
        "another process ({holder}) is running the daily pipeline, its lease until {until}; "
        "not running it here",
    ),
    "skipped": (
        "超出补跑范围、已跳过 {count} 天：{first} 至 {last}（用 --day 单独运行，或加大 "
        "--catch-up-days）",
        "{count} missed days outside the catch-up window skipped: {first} to {last} (run "
        "one with --day, or raise --catch-up-days)",
    ),
    "failed": (
        "步骤 {step} 失败：{error}；下次运行时重试",
        "step {step} failed: {error}; it is tried again at the next run",
    ),
    "lost_lease": (
        "心跳无法续租，流程已停止；下次运行时继续",
        "the heartbeat could not renew the lease; the run stopped and continues next time",
    ),
    "started": (
        "工作进程已启动：每天 {daily_at}（{tz}）运行每日流程，每 {poll:g} 秒发送消息；Ctrl+C 停止",
        "worker started: the daily pipeline at {daily_at} ({tz}), messages every {poll:g} s; "
        "Ctrl+C stops it",
    ),
    "stopped": ("工作进程已停止", "worker stopped"),
    "messages_sent": (
        "消息：发送 {sent}，稍后重试 {retried}，死信 {dead}",
        "messages: {sent} sent, {retried} to retry, {dead} dead",
    ),
    "pass_failed": ("本轮出错：{error}；稍后继续", "this pass failed: {error}; going on"),
}


def text(key: str, locale: str, **params: Any) -> str:
    """The text ``key`` in ``locale`` with ``params`` filled in."""
    return pick(TEXTS[key], locale).format(**params)
