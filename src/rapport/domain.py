"""Enumerations and value types shared by every layer.

Enumerations are data: the store derives its CHECK constraints from them, importers map
Chinese and English labels onto them (labels live in :mod:`rapport.i18n`), and analytics
refer to members instead of string literals.
"""

from __future__ import annotations

from enum import StrEnum


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
    """Only ``completed`` orders are purchases (METRICS.md)."""

    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


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


class SurveyKind(StrEnum):
    CSAT = "csat"
    NPS = "nps"
    CES = "ces"
    PERCEIVED_VALUE = "perceived_value"
    EXPECTATION = "expectation"


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
