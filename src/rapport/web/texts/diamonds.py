"""Texts of the page 钻石客户 Diamonds (:mod:`rapport.web.views.diamonds`)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.diamonds": ("钻石客户", "Diamonds"),
    "diamonds.title": ("钻石客户", "Diamond customers"),
    "diamonds.count": (
        "共 {count} 位钻石客户 · 评分快照 {date}",
        "{count} diamond customers · score snapshot of {date}",
    ),
    "diamonds.no_snapshot": (
        "尚无评分快照(运行 rapport score 生成)",
        "No score snapshot yet (rapport score writes one)",
    ),
    "diamonds.since": (
        "与上一快照({date})相比:新晋 {gained} 位,离开 {lost} 位",
        "Since the previous snapshot ({date}): {gained} gained, {lost} lost",
    ),
    "diamonds.no_previous": (
        "只有一个评分快照,尚无变动可比",
        "Only one score snapshot: no movement to compare yet",
    ),
    # the list
    "diamonds.list": ("钻石客户(风险高的在前)", "Diamonds, the most at risk first"),
    "diamonds.list_hint": (
        "按流失风险从高到低;流失风险 ≥ {level}(钻石条件上限 {ceiling} 的一半)标记为需关注",
        "By churn risk, highest first; a churn risk of {level} or more (half the diamond "
        "ceiling of {ceiling}) is marked at risk",
    ),
    "diamonds.none": ("没有钻石客户", "No diamond customer"),
    "diamonds.customer": ("客户", "Customer"),
    "diamonds.revenue": ("窗口内消费额", "Window revenue"),
    "diamonds.why": ("为何是钻石", "Why diamond"),
    "diamonds.at_risk": ("需关注", "At risk"),
    "diamonds.shown": ("显示 {shown} / {count} 位", "Showing {shown} of {count}"),
    "diamonds.more": ("再显示 {count} 位", "Show {count} more"),
    "diamonds.risk_unknown": ("无预测", "no prediction"),
    # movements
    "diamonds.moves": ("钻石客户变动", "In and out of diamond"),
    "diamonds.moves_hint": (
        "{before} → {after}:先列离开的,再列新晋的",
        "{before} → {after}: those who left first, then those who entered",
    ),
    "diamonds.moves_none": ("两次快照之间没有变动", "No movement between the two snapshots"),
    "diamonds.move": ("变动", "Movement"),
    "diamonds.left": ("↓ 离开", "↓ left"),
    "diamonds.entered": ("↑ 新晋", "↑ entered"),
    "diamonds.tiers": ("等级变化", "Tier change"),
    "diamonds.no_tier": ("无等级", "no tier"),
    "diamonds.reason": ("原因", "Why"),
    "diamonds.lacking": ("未满足{tier}条件:", "Fails the {tier} checks:"),
    "diamonds.meets": ("满足钻石条件:", "Meets the Diamond checks:"),
    "diamonds.moves_more": (
        "仅列出前 {shown} 位",
        "Only the first {shown} are listed",
    ),
}
