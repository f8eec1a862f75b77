"""Enumerations and value types shared by every layer.

Enumerations are data: the store derives its CHECK constraints from them, importers map
Chinese and English labels onto them (labels live in :mod:`rapport.i18n`), and analytics
refer to members instead of string literals.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

#: The earliest birthday taken as real; earlier ones (and future ones) are data errors.
EARLIEST_BIRTHDAY = dt.date(1900, 1, 1)
BIRTHDAY_TOO_EARLY = f"a birthday before {EARLIEST_BIRTHDAY.isoformat()}"
BIRTHDAY_IN_FUTURE = "a birthday in the future"


#: The languages of the user interface (``RAPPORT_LOCALE``): simplified Chinese and English.
UI_LOCALES = ("zh_CN", "en")


def ui_locale(text: str) -> str:
    """The interface language any usual spelling names: ``zh``, ``zh-CN``, ``zh_Hans`` …
    -> ``zh_CN``; ``en``, ``en_US``, ``en-GB`` … -> ``en``.

    Raises
    ------
    ValueError
        For any other language.
    """
    key = text.strip().replace("-", "_").lower()
    if key in ("zh", "zh_cn", "zh_hans", "zh_hans_cn"):
        return "zh_CN"
    if key == "en" or key.startswith("en_"):
        return "en"
    raise ValueError(f"unsupported locale {text!r}; use 'zh_CN' or 'en'")


def birthday_problem(birthday: dt.date, today: dt.date) -> str | None:
    """Why ``birthday`` cannot be a customer's birthday, or ``None`` when it can."""
    if birthday < EARLIEST_BIRTHDAY:
        return BIRTHDAY_TOO_EARLY
    if birthday > today:
        return BIRTHDAY_IN_FUTURE
    return None


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Role(StrEnum):
    """Staff roles; what each may see is enforced by the API."""

    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"
    SERVICE = "service"
    ANALYST = "analyst"


class LeadStatus(StrEnum):
    NEW = "new"
    QUALIFIED = "qualified"
    CONVERTED = "converted"
    LOST = "lost"


class OrderStatus(StrEnum):
    """Where an order stands, from placed to settled.

    Which statuses count as a purchase is a business rule (``[business]
    purchase_statuses``, default :data:`DEFAULT_PURCHASE_STATUSES`): cancelled, refunded,
    pending and refunding orders never do by default.
    """

    PENDING = "pending"  # placed, not paid (待付款)
    PAID = "paid"  # paid, not shipped (已付款, 待发货)
    SHIPPED = "shipped"  # on its way (已发货)
    COMPLETED = "completed"  # received, deal closed (交易成功)
    CANCELLED = "cancelled"  # closed without payment or cancelled (交易关闭)
    REFUNDING = "refunding"  # a refund requested, not settled (退款中)
    REFUNDED = "refunded"  # fully refunded (已退款)


_S = OrderStatus
#: Which status may follow which (a status may always be "changed" to itself). A declined
#: refund request goes back to where the order stood; cancelled and refunded are final.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.PENDING: frozenset({_S.PAID, _S.SHIPPED, _S.COMPLETED, _S.CANCELLED}),
    _S.PAID: frozenset({_S.SHIPPED, _S.COMPLETED, _S.CANCELLED, _S.REFUNDING, _S.REFUNDED}),
    _S.SHIPPED: frozenset({_S.COMPLETED, _S.REFUNDING, _S.REFUNDED}),
    _S.COMPLETED: frozenset({_S.CANCELLED, _S.REFUNDING, _S.REFUNDED}),
    _S.REFUNDING: frozenset({_S.PAID, _S.SHIPPED, _S.COMPLETED, _S.REFUNDED}),
    _S.CANCELLED: frozenset(),
    _S.REFUNDED: frozenset(),
}
del _S

#: Order statuses that count as purchases unless the business rules say otherwise.
DEFAULT_PURCHASE_STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.COMPLETED,
)


class EventKind(StrEnum):
    """Behaviour events a customer produces."""

    PAGE_VIEW = "page_view"
    PRODUCT_VIEW = "product_view"
    SEARCH = "search"
    ADD_TO_CART = "add_to_cart"
    CHECKOUT = "checkout"
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"
    SMS_CLICK = "sms_click"
    SOCIAL_LIKE = "social_like"
    SOCIAL_COMMENT = "social_comment"
    SOCIAL_SHARE = "social_share"
    EVENT_ATTEND = "event_attend"
    APP_OPEN = "app_open"
    REVIEW = "review"
    LOGIN = "login"


class InteractionChannel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    VISIT = "visit"
    SOCIAL = "social"
    AFTER_SALES = "after_sales"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    UNKNOWN = "unknown"  # the source did not say (most chat and visit logs)


class SurveyKind(StrEnum):
    CSAT = "csat"
    NPS = "nps"
    CES = "ces"
    PERCEIVED_VALUE = "perceived_value"
    EXPECTATION = "expectation"


#: The usual scale (lowest, highest score) of each survey kind, used when an answer does
#: not give its own.
SURVEY_SCALES: dict[SurveyKind, tuple[float, float]] = {
    SurveyKind.CSAT: (1, 5),
    SurveyKind.NPS: (0, 10),
    SurveyKind.CES: (1, 7),
    SurveyKind.PERCEIVED_VALUE: (1, 7),
    SurveyKind.EXPECTATION: (1, 7),
}


class TicketKind(StrEnum):
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    INQUIRY = "inquiry"
    PRAISE = "praise"
    SERVICE_REQUEST = "service_request"


class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


#: The ticket workflow: which status may follow which. A resolved ticket may be reopened
#: (back to ``in_progress``); a closed ticket is final.
TICKET_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset(
        {
            TicketStatus.IN_PROGRESS,
            TicketStatus.WAITING_CUSTOMER,
            TicketStatus.RESOLVED,
            TicketStatus.CLOSED,
        }
    ),
    TicketStatus.IN_PROGRESS: frozenset(
        {TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.WAITING_CUSTOMER: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}


class Channel(StrEnum):
    """Where a customer, lead, order or ticket came from."""

    ONLINE_STORE = "online_store"
    APP = "app"
    WECHAT = "wechat"
    TMALL = "tmall"
    JD = "jd"
    DOUYIN = "douyin"
    RETAIL_STORE = "retail_store"
    PHONE = "phone"
    EMAIL = "email"
    SMS = "sms"
    REFERRAL = "referral"
    SEARCH_ADS = "search_ads"
    SOCIAL = "social"
    EVENT = "event"
    PARTNER = "partner"
    OTHER = "other"


class CampaignChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WECHAT = "wechat"
    APP_PUSH = "app_push"
    PHONE = "phone"
    DIRECT_MAIL = "direct_mail"


class LoyaltyReason(StrEnum):
    PURCHASE = "purchase"
    REDEEM = "redeem"
    BONUS = "bonus"
    REFERRAL = "referral"
    BIRTHDAY = "birthday"
    REVIEW = "review"
    EXPIRE = "expire"
    ADJUST = "adjust"
    CLAWBACK = "clawback"  # what a cancelled or refunded order had earned, taken back


class TierChangeReason(StrEnum):
    """Why a member's programme tier changed (``loyalty_tier_changes.reason``)."""

    INITIAL = "initial"  # the member's first tier (or their tier is no longer configured)
    UPGRADE = "upgrade"  # the rolling basis reached a higher tier: at once
    DOWNGRADE = "downgrade"  # below the tier at a review and through the grace period
    MAPPING = "mapping"  # lifted by [loyalty.value_tier_map] from the member's value tier


class AuditAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    READ_PII = "read_pii"
    EXPORT = "export"
    ERASE = "erase"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_LOCKED = "login_locked"  # an attempt refused by the log-in throttle (429)
    IMPORT = "import"


class RewardKind(StrEnum):
    """What a reward of the loyalty catalogue is."""

    COUPON = "coupon"  # 优惠券: money off a later order
    GIFT = "gift"  # 礼品: a thing handed over
    DISCOUNT = "discount"  # 折扣: a percentage off


class ImportJobStatus(StrEnum):
    """An import job's state: queued → running → done | failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LoginThrottleKind(StrEnum):
    """What a log-in throttle counter counts failed attempts of."""

    ACCOUNT = "account"  # a username (known or not)
    ADDRESS = "address"  # a client address


class ValueTier(StrEnum):
    DIAMOND = "diamond"
    GOLD = "gold"
    SILVER = "silver"
    BRONZE = "bronze"


class LifecycleStage(StrEnum):
    PROSPECT = "prospect"
    NEW = "new"
    ACTIVE = "active"
    GROWING = "growing"
    AT_RISK = "at_risk"
    CHURNED = "churned"
    REACTIVATED = "reactivated"


# --- the action loop (issue: playbooks, tasks, alerts, outbox, scheduler) -------------------


class PlaybookSource(StrEnum):
    """Where a playbook's definition comes from."""

    BUILTIN = "builtin"  # shipped with Rapport (docs/actions.md), switchable
    RULES = "rules"  # the business's rules file
    API = "api"  # written through the API


class EnrolmentArm(StrEnum):
    """What an enrolled customer gets from a playbook."""

    TREATED = "treated"  # the actions run
    HOLDOUT = "holdout"  # the playbook's random holdout: nothing, recorded to measure the effect
    CONTROL = "control"  # the global control group: no playbook at all


class TaskStatus(StrEnum):
    """A task's state: open → done | skipped (with a reason) | expired (past due, never done)."""

    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"
    EXPIRED = "expired"


class CallResult(StrEnum):
    """What came of the call a task asked for: the ``result`` of a task marked done."""

    REACHED = "reached"  # the customer answered and was spoken to
    NO_ANSWER = "no_answer"
    CALLBACK = "callback"  # the customer asked to be called back
    DECLINED = "declined"  # reached, and declined the offer or the conversation


class AlertKind(StrEnum):
    """What an alert warns of."""

    CHURN_RISK = "churn_risk"  # a high-value customer's churn risk crossed the threshold
    DIAMOND_DOWNGRADED = "diamond_downgraded"
    NPS_DETRACTOR = "nps_detractor"
    SLA_AT_RISK = "sla_at_risk"  # a ticket's SLA is about to breach
    SLA_BREACHED = "sla_breached"
    METRIC_OUT_OF_BAND = "metric_out_of_band"  # a daily metric outside its expected band


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    """An alert's state: open → acknowledged → resolved (or open → resolved)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class MessageChannel(StrEnum):
    """How a message leaves Rapport: e-mail over SMTP, the others through a signed webhook."""

    EMAIL = "email"
    SMS = "sms"
    WECHAT = "wechat"
    APP_PUSH = "app_push"
    WEBHOOK = "webhook"  # an alert or event to the business's own endpoint


class OutboxStatus(StrEnum):
    """A message's state in the outbox: pending → sending → sent, or back to pending with a
    later attempt after a failure, and dead after the last allowed attempt."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class RunStatus(StrEnum):
    """A step of the daily pipeline on one day: running → done | failed."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
