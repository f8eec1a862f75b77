"""Texts of the page 我的工作台 My worklist (:mod:`rapport.web.views.worklist`)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.worklist": ("我的工作台", "My worklist"),
    "worklist.title": ("我的工作台", "My worklist"),
    "worklist.owner": ("负责人", "Owner"),
    "worklist.all_owners": ("全部负责人", "All owners"),
    "worklist.days": ("未联系天数", "Days without contact"),
    "worklist.days_hint": (
        "1 至 {max} 之间的整数",
        "A whole number from 1 to {max}",
    ),
    "worklist.days_invalid": (
        "未联系天数须为 1 至 {max} 之间的整数,已按 {days} 天显示",
        "Days without contact must be a whole number from 1 to {max}; showing {days} days",
    ),
    "worklist.apply": ("应用", "Apply"),
    "worklist.today": ("今天 {date}", "Today {date}"),
    "worklist.snapshot": ("评分快照 {date}", "Score snapshot of {date}"),
    "worklist.no_snapshot": (
        "尚无评分快照:流失预警与钻石客户需先运行 rapport score",
        "No score snapshot yet: the churn warnings and diamonds need rapport score first",
    ),
    "worklist.more": ("更多", "More"),
    "worklist.next": ("下一页", "Next page"),
    "worklist.first": ("第一页", "First page"),
    "worklist.customer": ("客户", "Customer"),
    # at risk
    "worklist.at_risk": ("流失预警(按风险价值)", "At risk, by value at risk"),
    "worklist.at_risk_hint": (
        "流失风险 ≥ {risk} 的客户,按风险价值(流失风险 × 预测CLV)从高到低",
        "Customers with a churn risk of {risk} or more, by value at risk "
        "(churn risk × predicted CLV), highest first",
    ),
    "worklist.at_risk_none": ("没有流失预警", "No churn warning"),
    "worklist.value_at_risk": ("风险价值", "Value at risk"),
    "worklist.reasons": ("主要原因", "Main reasons"),
    "worklist.next_best": ("下一步最佳行动", "Next best action"),
    "worklist.at_risk_all": ("按流失风险查看全部客户", "All customers by churn risk"),
    # diamonds
    "worklist.diamonds": ("钻石客户", "Diamonds"),
    "worklist.diamonds_hint": (
        "共 {count} 位,流失风险最高的在前",
        "{count} in all, the highest churn risk first",
    ),
    "worklist.diamonds_none": ("没有钻石客户", "No diamond customer"),
    "worklist.diamonds_all": ("查看全部钻石客户", "All diamond customers"),
    "worklist.revenue": ("窗口内消费额", "Window revenue"),
    # birthdays
    "worklist.birthdays": ("本周生日", "Birthdays this week"),
    "worklist.birthdays_hint": ("{start} 至 {end}", "{start} to {end}"),
    "worklist.birthdays_none": ("本周没有客户过生日", "No birthday this week"),
    "worklist.birthday_on": ("生日", "Birthday"),
    "worklist.turns": ("年满", "Turns"),
    "worklist.birthday_today": ("今天", "today"),
    "worklist.birthday_passed": ("已过", "passed"),
    # not contacted
    "worklist.quiet": ("{days} 天以上未联系", "Not contacted for {days} days or more"),
    "worklist.quiet_hint": (
        "最近一次互动(电话、邮件、在线沟通、拜访、社交、售后,任一方向)距今的天数;预测CLV最高的在前",
        "Days since the last interaction (call, e-mail, chat, visit, social, after-sales, "
        "either direction); the highest predicted CLV first",
    ),
    "worklist.quiet_none": ("没有超过该天数未联系的客户", "Everyone was contacted in that time"),
    "worklist.last_contact": ("最近联系", "Last contact"),
    "worklist.days_since": ("距今天数", "Days since"),
    "worklist.never": ("从未联系", "Never"),
}
