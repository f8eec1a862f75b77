"""Texts of the 360 card's next best action (:mod:`rapport.web.views.card_next_best`)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "next_best.title": ("下一步最佳行动", "Next best action"),
    "next_best.loading": ("正在计算…", "Working it out…"),
    "next_best.value": ("预期增量价值 {value}", "expected incremental value {value}"),
    "next_best.none": (
        "眼下没有该客户符合条件的行动手册",
        "No playbook the customer is eligible for right now",
    ),
}
