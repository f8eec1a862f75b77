"""Texts of the page 行动手册 Playbooks (:mod:`rapport.web.views.playbooks`); the columns
shared with ``rapport playbooks`` come from :mod:`rapport.i18n.playbooks`."""

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.playbooks": ("行动手册", "Playbooks"),
    "playbooks_web.title": ("行动手册", "Playbooks"),
    "playbooks_web.intro": (
        "每天自动运行的客户跟进规则:触发、人群、动作;成效按执行组对比留出组衡量",
        "Follow-up rules run every day: trigger, audience, actions; their effect measured "
        "as the treated against the held out",
    ),
    "playbooks_web.run_day": ("最近一次每日运行:{date}", "Latest daily run: {date}"),
    "playbooks_web.never_run": (
        "每日运行尚未执行过(rapport worker)",
        "The daily run has not run yet (rapport worker)",
    ),
    "playbooks_web.last_run": ("最近一次运行", "Latest run"),
    "playbooks_web.effect": ("已衡量的成效", "Measured effect"),
    "playbooks_web.on": ("启用", "On"),
    "playbooks_web.off": ("停用", "Off"),
    "playbooks_web.arms": (
        "执行 {treated} / 留出 {held_out}",
        "{treated} treated / {held_out} held out",
    ),
    "playbooks_web.lifts": ("有提升", "lifts"),
    "playbooks_web.lowers": ("有下降", "lowers"),
    "playbooks_web.unclear": ("尚无定论", "not clear yet"),
    "playbooks_web.not_measured": (
        "尚未衡量:成效窗口结束后才计算",
        "Not measured yet: the outcome is measured when its window ends",
    ),
    "playbooks_web.none": ("还没有行动手册", "No playbooks yet"),
}
