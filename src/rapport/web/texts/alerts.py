"""Texts of the page 告警 Alerts and of the top bar's badge (:mod:`rapport.web.views.alerts`)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.alerts": ("告警", "Alerts"),
    "alerts_web.title": ("告警", "Alerts"),
    "alerts_web.badge": ("{count} 条未处理告警", "{count} open alerts"),
    "alerts_web.count": ("共 {count} 条", "Alerts: {count}"),
    "alerts_web.none": ("没有符合条件的告警", "No alerts match"),
    "alerts_web.status": ("状态", "Status"),
    "alerts_web.status_unresolved": (
        "未解决(未处理与已确认)",
        "Unresolved (open and acknowledged)",
    ),
    "alerts_web.status_open": ("未处理", "Open"),
    "alerts_web.status_acknowledged": ("已确认", "Acknowledged"),
    "alerts_web.status_resolved": ("已解决", "Resolved"),
    "alerts_web.kind": ("类型", "Kind"),
    "alerts_web.all_kinds": ("全部类型", "All kinds"),
    "alerts_web.severity": ("级别", "Severity"),
    "alerts_web.customer": ("客户", "Customer"),
    "alerts_web.company": ("全公司", "Company-wide"),
    "alerts_web.raised_at": ("发出时间", "Raised"),
    "alerts_web.last_seen_at": ("最近一次", "Last seen"),
    "alerts_web.evidence": ("依据", "Evidence"),
    "alerts_web.actions": ("处理", "Act"),
    "alerts_web.acknowledge": ("确认", "Acknowledge"),
    "alerts_web.resolve": ("解决", "Resolve"),
    "alerts_web.back": ("返回告警", "Back to the alerts"),
}
