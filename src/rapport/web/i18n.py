"""The web workspace's texts in zh-CN and en, the choice of language, and the formatting of
numbers, money, dates and enumeration values per locale (Babel).

Texts shared with the CLI and reports (figures, segments, churn reasons, the labels of the
store's enumerations) come from :mod:`rapport.i18n`; the texts of the pages alone (buttons,
headings, hints) are :data:`MESSAGES`: the log-in, the frame and the customers pages here,
every other page's in its module of :mod:`rapport.web.texts`. :func:`text` looks a key up in
:data:`MESSAGES` first, then in :data:`rapport.i18n.labels.LABELS`; a key found in neither
raises, so that no untranslated key ever reaches a page.

The language of a request (:func:`negotiate`): the one the user chose with the switch
(kept in the session cookie), else the first of ``Accept-Language`` that Rapport speaks,
else zh-CN.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from rapport.domain import ui_locale
from rapport.i18n.enums import label, value_label
from rapport.i18n.labels import LABELS
from rapport.i18n.locale import pick
from rapport.web.texts import collect

#: The languages of the workspace, the first the default.
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = LOCALES[0]
#: The Babel locale of each language (English numbers and dates as in the US).
BABEL_LOCALES = {"zh_CN": Locale.parse("zh_Hans_CN"), "en": Locale.parse("en_US")}
#: The ``lang`` attribute of the pages.
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}

MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("客情工作台", "Rapport workspace"),
    "app.skip": ("跳到正文", "Skip to content"),
    "nav.customers": ("客户", "Customers"),
    "nav.language": ("语言", "Language"),
    "nav.signed_in_as": ("当前用户", "Signed in as"),
    "nav.logout": ("退出登录", "Log out"),
    "lang.zh_CN": ("中文", "中文"),
    "lang.en": ("English", "English"),
    "role.label": ("角色", "Role"),
    # log-in
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("用户名或密码错误", "Wrong username or password"),
    "login.locked": (
        "登录失败次数过多,请 {seconds} 秒后再试",
        "Too many failed log-ins; try again in {seconds} seconds",
    ),
    "login.expired": ("会话已过期,请重新登录", "Your session has expired; please log in again"),
    "login.logged_out": ("已退出登录", "You have logged out"),
    # errors
    "error.not_found": ("未找到", "Not found"),
    "error.not_found_text": (
        "没有这个客户,或您无权查看。",
        "There is no such customer, or it is not yours to see.",
    ),
    "error.csrf": ("请求已被拒绝", "Request refused"),
    "error.csrf_text": (
        "表单已过期或来自其他网站。请返回并重试。",
        "The form has expired or came from another site. Go back and try again.",
    ),
    "error.back": ("返回客户列表", "Back to customers"),
    "error.forbidden": ("无权访问", "Not allowed"),
    "error.forbidden_text": (
        "您的角色不能打开此页面。",
        "Your role may not open this page.",
    ),
    "error.home": ("返回首页", "Back to your home page"),
    # the customer list
    "customers.title": ("客户", "Customers"),
    "customers.search": ("搜索", "Search"),
    "customers.search_hint": (
        "姓名、电话、邮箱或客户编号",
        "Name, phone, e-mail or customer number",
    ),
    "customers.search_masked": (
        "分析师角色不能按文本搜索客户",
        "The analyst role may not search customers by text",
    ),
    "customers.filters": ("筛选", "Filters"),
    "customers.any": ("全部", "Any"),
    "customers.owner": ("负责人", "Owner"),
    "customers.unowned": ("无负责人", "Unowned"),
    "customers.city": ("城市", "City"),
    "customers.marketable": ("可营销", "Marketable"),
    "customers.marketable_yes": ("可营销", "Marketable"),
    "customers.marketable_no": ("不可营销", "Not marketable"),
    "customers.sort": ("排序", "Sort by"),
    "sort.id": ("客户ID", "Customer id"),
    "sort.name": ("姓名", "Name"),
    "sort.relationship_index": ("关系指数(高→低)", "Relationship index (high → low)"),
    "sort.predicted_clv": ("预测CLV(高→低)", "Predicted CLV (high → low)"),
    "sort.churn_risk": ("流失风险(高→低)", "Churn risk (high → low)"),
    "customers.apply": ("应用", "Apply"),
    "customers.reset": ("清除", "Clear"),
    "customers.count": ("共 {count} 位客户", "{count} customers"),
    "customers.count_more": ("超过 {count} 位客户", "More than {count} customers"),
    "customers.search_capped": (
        "匹配的客户太多,只查看了前 {count} 位;请输入更具体的文字",
        "Too many customers match; only the first {count} were examined — type more",
    ),
    "customers.none": ("没有符合条件的客户", "No customer matches"),
    "customers.next": ("下一页", "Next page"),
    "customers.first": ("第一页", "First page"),
    "customers.snapshot": ("评分快照", "Score snapshot"),
    "customers.no_snapshot": ("尚无评分快照", "No score snapshot yet"),
    "customers.masked_note": (
        "个人信息已脱敏(分析师角色)",
        "Personal data is masked (analyst role)",
    ),
    "column.id": ("ID", "ID"),
    "column.name": ("姓名", "Name"),
    "column.external_id": ("客户编号", "Customer number"),
    "column.city": ("城市", "City"),
    "column.owner": ("负责人", "Owner"),
    "column.value_tier": ("价值等级", "Value tier"),
    "column.lifecycle_stage": ("生命周期", "Lifecycle stage"),
    "column.rfm_segment": ("RFM分群", "RFM segment"),
    "column.relationship_index": ("关系指数", "Relationship index"),
    "column.predicted_clv": ("预测CLV", "Predicted CLV"),
    "column.churn_risk": ("流失风险", "Churn risk"),
    # the 360 card
    "card.title": ("客户360视图", "Customer 360"),
    "card.profile": ("基本资料", "Profile"),
    "card.customer_number": ("客户编号", "Customer number"),
    "card.gender": ("性别", "Gender"),
    "card.birthday": ("生日", "Birthday"),
    "card.phone": ("电话", "Phone"),
    "card.email": ("邮箱", "E-mail"),
    "card.wechat": ("微信", "WeChat"),
    "card.address": ("地址", "Address"),
    "card.source_channel": ("来源渠道", "Source channel"),
    "card.owner": ("负责人", "Owner"),
    "card.customer_since": ("建档时间", "Customer since"),
    "card.loyalty_joined": ("入会时间", "Loyalty member since"),
    "card.tags": ("标签", "Tags"),
    "card.consent": ("营销许可", "Marketing consent"),
    "card.consent_given": ("已同意", "Given"),
    "card.consent_not_given": ("未同意", "Not given"),
    "card.opted_out": ("已退订", "Opted out"),
    "card.degrees": ("四度", "The four degrees"),
    "card.degrees_radar": ("四度雷达图", "Four-degree radar"),
    "card.index_trend": ("关系指数走势", "Relationship index over time"),
    "card.index_table": ("各快照的关系指数", "Relationship index per snapshot"),
    "card.snapshot_of": ("快照日期 {date}", "Snapshot of {date}"),
    "card.no_snapshot": (
        "该客户尚无评分快照(运行 rapport score 生成)",
        "No score snapshot for this customer yet (rapport score writes one)",
    ),
    "card.rfm": ("RFM", "RFM"),
    "card.recency": ("最近购买(天前)", "Last purchase (days ago)"),
    "card.frequency": ("购买次数", "Purchases"),
    "card.monetary": ("消费额", "Revenue"),
    "card.rfm_scores": ("R/F/M得分", "R/F/M scores"),
    "card.segment": ("RFM分群", "RFM segment"),
    "card.value": ("价值与阶段", "Value and stage"),
    "card.value_tier": ("价值等级", "Value tier"),
    "card.lifecycle_stage": ("生命周期阶段", "Lifecycle stage"),
    "card.predictions": ("预测", "Predictions"),
    "card.p_alive": ("存活概率 P(alive)", "P(alive)"),
    "card.expected_purchases": ("未来90天预计购买", "Expected purchases, next 90 days"),
    "card.predicted_clv": ("预测CLV", "Predicted CLV"),
    "card.clv_interval": ("95%区间", "95 % interval"),
    "card.churn_risk": ("流失风险", "Churn risk"),
    "card.churn_reasons": ("流失风险原因", "Reasons for the churn risk"),
    "card.raises": ("↑ 提高风险", "↑ raises the risk"),
    "card.lowers": ("↓ 降低风险", "↓ lowers the risk"),
    "card.no_reasons": ("无", "None"),
    "card.timeline": ("时间线", "Timeline"),
    "card.timeline_empty": ("暂无记录", "Nothing recorded yet"),
    "card.time": ("时间", "Time"),
    "card.source": ("来源", "Source"),
    "card.kind": ("类型", "Kind"),
    "card.detail": ("详情", "Detail"),
    "card.amount": ("金额/分值", "Amount / score"),
    "card.hidden": ("已隐藏", "hidden"),
    "card.back": ("返回客户列表", "Back to customers"),
    "card.none": ("—", "—"),
    "source.orders": ("订单", "Order"),
    "source.interactions": ("互动", "Interaction"),
    "source.tickets": ("工单", "Ticket"),
    "source.survey_responses": ("问卷", "Survey"),
    "source.events": ("行为", "Event"),
    "source.notes": ("备注", "Note"),
    "degree.satisfaction": ("满意度", "Satisfaction"),
    "degree.loyalty": ("忠诚度", "Loyalty"),
    "degree.engagement": ("参与度", "Engagement"),
    "degree.advocacy": ("推荐度", "Advocacy"),
    "degree.relationship_index": ("关系指数", "Relationship index"),
}
#: With the texts of the other pages (:mod:`rapport.web.texts`, one module per page).
MESSAGES = collect(MESSAGES)


def text(key: str, locale: str) -> str:
    """The text of ``key`` in ``locale``: :data:`MESSAGES`, then the shared labels.

    Raises
    ------
    KeyError
        When neither catalogue has ``key``.
    """
    pair = MESSAGES.get(key) or LABELS.get(key)
    if pair is None:
        raise KeyError(f"no web text {key!r}")
    return pick(pair, locale)


def choose(value: str | None) -> str | None:
    """``value`` when it is a language of the workspace (``zh_CN``, ``zh-CN``, ``en`` …),
    by the one locale rule of :func:`rapport.domain.ui_locale` (not its cached form: the
    values come from requests)."""
    if not value:
        return None
    try:
        return ui_locale(value)
    except ValueError:
        return None


def from_accept_language(header: str | None) -> str | None:
    """The first language of an ``Accept-Language`` header that the workspace speaks, by
    quality (``en-GB,en;q=0.9,zh;q=0.8`` → ``en``); ``None`` when none is."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        lang = choose(tag) or choose(tag.split("-")[0])
        if lang is not None:
            return lang
    return None


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The language of a request: the user's choice, else ``Accept-Language``, else zh-CN."""
    return choose(chosen) or from_accept_language(accept_language) or DEFAULT_LOCALE


# --- formatting -------------------------------------------------------------------------------


class Formatter:
    """Numbers, money, dates and enumeration values of one locale and time zone; the
    templates call it as ``fmt``. ``None`` is shown as a dash everywhere."""

    DASH = "—"

    def __init__(self, locale: str, timezone: str, currency: str) -> None:
        self.locale = locale
        self.babel = BABEL_LOCALES[locale]
        self.zone = ZoneInfo(timezone)
        self.currency = currency

    def t(self, key: str, **values: Any) -> str:
        message = text(key, self.locale)
        return message.format(**values) if values else message

    def label_or(self, key: str, fallback: str) -> str:
        """The text of ``key``, or ``fallback`` when no catalogue has it."""
        try:
            return text(key, self.locale)
        except KeyError:
            return fallback

    def number(self, value: float | int | Decimal | None, digits: int = 0) -> str:
        if value is None:
            return self.DASH
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.babel)

    def money(self, value: float | Decimal | None) -> str:
        if value is None:
            return self.DASH
        return format_currency(value, self.currency, locale=self.babel)

    def percent(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return self.DASH
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(value, format=pattern, locale=self.babel)

    def date(self, value: dt.date | dt.datetime | None) -> str:
        if value is None:
            return self.DASH
        if isinstance(value, dt.datetime):
            value = self._local(value).date()
        return format_date(value, format="medium", locale=self.babel)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return self.DASH
        return format_datetime(self._local(value), format="short", locale=self.babel)

    def _local(self, value: dt.datetime) -> dt.datetime:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(self.zone)

    def enum(self, member: StrEnum | None) -> str:
        return self.DASH if member is None else label(member, self.locale)

    def value(self, table: str, column: str, value: object) -> str:
        """A stored value through :func:`rapport.i18n.enums.value_label` (codes translated,
        data as it is)."""
        return value_label(table, column, value, self.locale)

    def segment(self, segment: str | None) -> str:
        if segment is None:
            return self.DASH
        key = f"segment.{segment}"
        return text(key, self.locale) if key in LABELS else segment
