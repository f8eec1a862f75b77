"""The canonical schema: every importer, route, metric and model speaks these tables.

SQLAlchemy Core tables, identical on SQLite and PostgreSQL. Surrogate integer keys join
the tables; every business record also carries the source system's ``external_id`` (unique)
so imports and API pushes are idempotent upserts. Money is ``NUMERIC(14,2)``, times are UTC
(:class:`~rapport.store.types.UTCDateTime`), enumerations are VARCHAR with a CHECK
constraint derived from :mod:`rapport.domain`. ``docs/data-model.md`` draws the diagram.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from rapport.domain import (
    AlertKind,
    AlertSeverity,
    AlertStatus,
    AuditAction,
    CampaignChannel,
    Direction,
    EnrolmentArm,
    EventKind,
    Gender,
    ImportJobStatus,
    InteractionChannel,
    LeadStatus,
    LifecycleStage,
    LoginThrottleKind,
    LoyaltyReason,
    MessageChannel,
    OrderStatus,
    OutboxStatus,
    PlaybookSource,
    RewardKind,
    Role,
    RunStatus,
    SurveyKind,
    TaskStatus,
    TicketKind,
    TicketPriority,
    TicketStatus,
    TierChangeReason,
    ValueTier,
)
from rapport.store.components import ComponentsDoc
from rapport.store.types import MONEY, JSONDoc, UTCDateTime, enum_type

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)


def _pk() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _external_id(nullable: bool = False) -> sa.Column:
    return sa.Column("external_id", sa.String(64), nullable=nullable, unique=True)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    ]


def _customer_fk(nullable: bool = False, ondelete: str | None = None) -> sa.Column:
    return sa.Column(
        "customer_id",
        sa.Integer,
        sa.ForeignKey("customers.id", ondelete=ondelete),
        nullable=nullable,
    )


users = sa.Table(
    "users",
    metadata,
    _pk(),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("role", enum_type(Role, "role"), nullable=False),
    sa.Column("team", sa.String(64)),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    *_timestamps(),
)

customers = sa.Table(
    "customers",
    metadata,
    _pk(),
    _external_id(),
    sa.Column("name", sa.String(128)),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(32), comment="E.164, e.g. +8613812345678"),
    sa.Column("wechat_id", sa.String(64)),
    sa.Column("social_handles", JSONDoc, comment='{"weibo": "...", "douyin": "..."}'),
    sa.Column("country", sa.String(2), comment="ISO 3166-1 alpha-2"),
    sa.Column("province", sa.String(64)),
    sa.Column("city", sa.String(64)),
    sa.Column("district", sa.String(64)),
    sa.Column("street", sa.String(255)),
    sa.Column("postal_code", sa.String(16)),
    sa.Column("birthday", sa.Date),
    sa.Column("gender", enum_type(Gender, "gender")),
    sa.Column("occupation", sa.String(64)),
    sa.Column("income_band", sa.String(32)),
    sa.Column("source_channel", sa.String(32)),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("marketing_consent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("marketing_opt_out", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("loyalty_joined_at", UTCDateTime),
    sa.Column("tags", JSONDoc, comment="list of strings"),
    sa.Column("extra", JSONDoc, comment="source columns without a canonical place"),
    *_timestamps(),
    sa.Column("deleted_at", UTCDateTime, comment="soft delete"),
    sa.Column("erased_at", UTCDateTime, comment="personal data anonymized on request"),
    sa.Index("ix_customers_phone", "phone"),
    sa.Index("ix_customers_email", "email"),
    sa.Index("ix_customers_owner_id", "owner_id"),
    sa.Index("ix_customers_city", "city"),
    sa.Index("ix_customers_updated_at", "updated_at"),
)

# The deleted customers alone (migration 0020): a report of every customer leaves them out
# by reading this index once (rapport.access.not_deleted), not each customer's row.
_deleted = customers.c.deleted_at.is_not(None)
sa.Index("ix_customers_deleted", customers.c.id, sqlite_where=_deleted, postgresql_where=_deleted)


#: The characters the searched text of a customer is written between (the unit separator,
#: which no one types): a match across two fields is a candidate the exact conditions drop.
SEARCH_SEPARATOR = "\x1f"

customer_search = sa.Table(
    "customer_search",
    metadata,
    sa.Column(
        "customer_id",
        sa.Integer,
        sa.ForeignKey("customers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "doc",
        sa.Text,
        nullable=False,
        comment="lower(name, phone, email, external_id, tags as JSON text), each + char 31",
    ),
    comment="each customer's searched text in one narrow row, kept by triggers on customers "
    "(migration 0019): the text search reads it to find its candidates",
)

#: SQLite: the full-text index of ``customer_search`` (FTS5, tokenizer ``trigram``) and its
#: table of terms (``fts5vocab``), virtual tables outside this metadata (with the index's own
#: tables, named ``customer_search_fts_*``), made and kept by migration 0019's triggers; the
#: text search reads them (:mod:`rapport.store.customers`).
SQLITE_SEARCH_INDEX = ("customer_search_fts", "customer_search_terms")

#: PostgreSQL: a trigram index on the text, which a LIKE of three characters or more reads
#: (pg_trgm; the migration leaves it out where the extension cannot be created).
TRIGRAM_INDEX = "ix_customer_search_doc_trgm"
sa.Index(
    TRIGRAM_INDEX,
    customer_search.c.doc,
    postgresql_using="gin",
    postgresql_ops={"doc": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")


class month_day(sa.sql.functions.GenericFunction[int]):
    """The month and day of a date as one number, ``month * 100 + day`` (14 March: 314), in
    SQL: what a birthday's day of the year is matched on, whatever the year of birth.

    Written alike in every statement and in the index on it (``ix_customers_birthday_md``,
    ``ix_customers_owner_id_birthday_md``, migration 0012), so that a search by month and
    day reads the index instead of every customer. Each backend spells it its own way,
    both immutable functions of the date: SQLite ``CAST(strftime('%m%d', d) AS INTEGER)``,
    PostgreSQL ``CAST(EXTRACT(MONTH FROM d) * 100 + EXTRACT(DAY FROM d) AS INTEGER)``.
    """

    type = sa.Integer()
    inherit_cache = True
    name = "month_day"


@compiles(month_day, "sqlite")
def _month_day_sqlite(element: month_day, compiler: SQLCompiler, **kw: object) -> str:
    return f"CAST(strftime('%m%d', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(month_day)
def _month_day(element: month_day, compiler: SQLCompiler, **kw: object) -> str:
    day = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(MONTH FROM {day}) * 100 + EXTRACT(DAY FROM {day}) AS INTEGER)"


#: A customer's birthday as :class:`month_day` (``NULL`` without a birthday).
birthday_md = month_day(customers.c.birthday)

# A birthday's customers in id order, of everyone or of one owner (the worklist).
sa.Index("ix_customers_birthday_md", birthday_md, customers.c.id)
sa.Index("ix_customers_owner_id_birthday_md", customers.c.owner_id, birthday_md, customers.c.id)

#: The key a list sorted by name orders customers on: the name, ``''`` for none (so every
#: store puts customers without a name first). A literal, not a parameter, so that the
#: store matches the expression of a query to the one of its index.
name_key = sa.func.coalesce(customers.c.name, sa.literal_column("''"))

# Customers by name, then id, of everyone and of one owner (the customer list sorted by
# name walks the first, or one range of the second per owner of the scope; migration 0018).
sa.Index("ix_customers_name_key", name_key, customers.c.id)
sa.Index("ix_customers_owner_id_name_key", customers.c.owner_id, name_key, customers.c.id)

leads = sa.Table(
    "leads",
    metadata,
    _pk(),
    _external_id(),
    sa.Column("name", sa.String(128)),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(32)),
    sa.Column("company", sa.String(128)),
    sa.Column("source", sa.String(32)),
    sa.Column("status", enum_type(LeadStatus, "lead_status"), nullable=False),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column(
        "converted_customer_id", sa.Integer, sa.ForeignKey("customers.id", ondelete="SET NULL")
    ),
    sa.Column("converted_at", UTCDateTime),
    sa.Column("extra", JSONDoc),
    *_timestamps(),
    sa.CheckConstraint(
        "(status = 'converted') = (converted_at IS NOT NULL)", name="converted_has_time"
    ),
    sa.Index("ix_leads_created_at", "created_at"),
    sa.Index("ix_leads_converted_customer_id", "converted_customer_id"),
)

products = sa.Table(
    "products",
    metadata,
    _pk(),
    sa.Column("sku", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("category", sa.String(64)),
    sa.Column("price", MONEY),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("extra", JSONDoc),
    *_timestamps(),
    sa.CheckConstraint("price >= 0", name="price_non_negative"),
    sa.Index("ix_products_category", "category"),
)

orders = sa.Table(
    "orders",
    metadata,
    _pk(),
    _external_id(),
    _customer_fk(),
    sa.Column("status", enum_type(OrderStatus, "order_status"), nullable=False),
    sa.Column("ordered_at", UTCDateTime, nullable=False),
    sa.Column("gross_amount", MONEY),
    sa.Column("discount_amount", MONEY, nullable=False, server_default="0"),
    sa.Column("refunded_amount", MONEY, nullable=False, server_default="0"),
    sa.Column("net_amount", MONEY, nullable=False, comment="after discounts and refunds"),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("channel", sa.String(32)),
    sa.Column("store", sa.String(64)),
    sa.Column("extra", JSONDoc),
    *_timestamps(),
    sa.CheckConstraint("net_amount >= 0", name="net_amount_non_negative"),
    sa.CheckConstraint("gross_amount >= 0", name="gross_amount_non_negative"),
    sa.CheckConstraint("discount_amount >= 0", name="discount_amount_non_negative"),
    sa.CheckConstraint("refunded_amount >= 0", name="refunded_amount_non_negative"),
    sa.Index("ix_orders_customer_id_ordered_at", "customer_id", "ordered_at"),
    sa.Index("ix_orders_ordered_at", "ordered_at"),
)

order_items = sa.Table(
    "order_items",
    metadata,
    _pk(),
    sa.Column(
        "order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price", MONEY, nullable=False),
    sa.Column("net_amount", MONEY, nullable=False),
    sa.UniqueConstraint("order_id", "line_no"),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    sa.CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
    sa.CheckConstraint("net_amount >= 0", name="net_amount_non_negative"),
    sa.CheckConstraint("line_no > 0", name="line_no_positive"),
    sa.Index("ix_order_items_product_id", "product_id"),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    _pk(),
    _external_id(),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("channel", enum_type(CampaignChannel, "campaign_channel"), nullable=False),
    sa.Column("objective", sa.String(64), comment="e.g. win_back, upsell, nps_survey"),
    sa.Column("started_at", UTCDateTime),
    sa.Column("ended_at", UTCDateTime),
    sa.Column("budget", MONEY),
    sa.Column("holdout_share", sa.Float, nullable=False, server_default="0"),
    sa.Column("extra", JSONDoc),
    *_timestamps(),
    sa.CheckConstraint("budget >= 0", name="budget_non_negative"),
    sa.CheckConstraint("holdout_share >= 0 AND holdout_share < 1", name="holdout_share_range"),
    sa.CheckConstraint(
        "ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at", name="period_order"
    ),
)

events = sa.Table(
    "events",
    metadata,
    _pk(),
    _external_id(nullable=True),
    _customer_fk(),
    sa.Column("kind", enum_type(EventKind, "event_kind"), nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("session_id", sa.String(64)),
    sa.Column("channel", sa.String(32)),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id", ondelete="SET NULL")),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="SET NULL")),
    sa.Column("dwell_seconds", sa.Float),
    sa.Column("properties", JSONDoc),
    sa.CheckConstraint("dwell_seconds >= 0", name="dwell_non_negative"),
    sa.Index("ix_events_customer_id_occurred_at", "customer_id", "occurred_at"),
    sa.Index("ix_events_occurred_at", "occurred_at"),
)

interactions = sa.Table(
    "interactions",
    metadata,
    _pk(),
    _external_id(nullable=True),
    _customer_fk(),
    sa.Column("channel", enum_type(InteractionChannel, "interaction_channel"), nullable=False),
    sa.Column("direction", enum_type(Direction, "direction"), nullable=False),
    sa.Column("staff_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("duration_seconds", sa.Integer),
    sa.Column("subject", sa.String(255)),
    sa.Column("summary", sa.Text),
    sa.Column("extra", JSONDoc),
    sa.CheckConstraint("duration_seconds >= 0", name="duration_non_negative"),
    sa.Index("ix_interactions_customer_id_occurred_at", "customer_id", "occurred_at"),
    sa.Index("ix_interactions_occurred_at", "occurred_at"),
)

tickets = sa.Table(
    "tickets",
    metadata,
    _pk(),
    _external_id(),
    _customer_fk(),
    sa.Column("kind", enum_type(TicketKind, "ticket_kind"), nullable=False),
    sa.Column("channel", sa.String(32)),
    sa.Column("priority", enum_type(TicketPriority, "ticket_priority"), nullable=False),
    sa.Column("status", enum_type(TicketStatus, "ticket_status"), nullable=False),
    sa.Column("subject", sa.String(255)),
    sa.Column("description", sa.Text),
    sa.Column("assignee_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("first_response_at", UTCDateTime),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("first_response_due_at", UTCDateTime),
    sa.Column("resolution_due_at", UTCDateTime),
    sa.Column("satisfaction_rating", sa.Integer, comment="1–5, the customer's rating"),
    sa.Column("extra", JSONDoc),
    *_timestamps(),
    sa.CheckConstraint("satisfaction_rating BETWEEN 1 AND 5", name="satisfaction_rating_range"),
    sa.CheckConstraint(
        "first_response_at IS NULL OR first_response_at >= opened_at", name="response_after_open"
    ),
    sa.CheckConstraint(
        "resolved_at IS NULL OR resolved_at >= opened_at", name="resolved_after_open"
    ),
    sa.Index("ix_tickets_customer_id", "customer_id"),
    sa.Index("ix_tickets_opened_at", "opened_at"),
    sa.Index("ix_tickets_status", "status"),
    # an agent's open tickets: their range of the index, not every ticket they ever had
    # (migration 0016, which replaced the index on assignee_id alone)
    sa.Index("ix_tickets_assignee_id_status", "assignee_id", "status"),
    # a service agent's customers, read from the index alone (migration 0013)
    sa.Index("ix_tickets_assignee_id_customer_id", "assignee_id", "customer_id"),
)

ticket_status_history = sa.Table(
    "ticket_status_history",
    metadata,
    _pk(),
    sa.Column(
        "ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("from_status", enum_type(TicketStatus, "from_status")),
    sa.Column("to_status", enum_type(TicketStatus, "to_status"), nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.Column("changed_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("note", sa.Text),
    sa.Index("ix_ticket_status_history_ticket_id_changed_at", "ticket_id", "changed_at"),
)

survey_responses = sa.Table(
    "survey_responses",
    metadata,
    _pk(),
    _external_id(nullable=True),
    _customer_fk(),
    sa.Column("kind", enum_type(SurveyKind, "survey_kind"), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("scale_min", sa.Float, nullable=False),
    sa.Column("scale_max", sa.Float, nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("channel", sa.String(32)),
    sa.Column("responded_at", UTCDateTime, nullable=False),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="SET NULL")),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="SET NULL")),
    sa.CheckConstraint("scale_max > scale_min", name="scale_order"),
    sa.CheckConstraint("score >= scale_min AND score <= scale_max", name="score_in_scale"),
    sa.Index("ix_survey_responses_customer_id_responded_at", "customer_id", "responded_at"),
    sa.Index("ix_survey_responses_kind_responded_at", "kind", "responded_at"),
)

referrals = sa.Table(
    "referrals",
    metadata,
    _pk(),
    _external_id(nullable=True),
    sa.Column("referrer_customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("referred_lead_id", sa.Integer, sa.ForeignKey("leads.id", ondelete="SET NULL")),
    sa.Column(
        "referred_customer_id", sa.Integer, sa.ForeignKey("customers.id", ondelete="SET NULL")
    ),
    sa.Column("referred_at", UTCDateTime, nullable=False),
    sa.Column("channel", sa.String(32)),
    sa.Column("converted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("converted_at", UTCDateTime),
    sa.CheckConstraint(
        "referred_lead_id IS NOT NULL OR referred_customer_id IS NOT NULL",
        name="has_referred_party",
    ),
    sa.CheckConstraint(
        "referred_customer_id IS NULL OR referred_customer_id <> referrer_customer_id",
        name="not_self",
    ),
    sa.Index("ix_referrals_referrer_customer_id", "referrer_customer_id"),
    sa.Index("ix_referrals_referred_at", "referred_at"),
)

campaign_deliveries = sa.Table(
    "campaign_deliveries",
    metadata,
    _pk(),
    _external_id(nullable=True),
    sa.Column(
        "campaign_id",
        sa.Integer,
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
        nullable=False,
    ),
    _customer_fk(),
    sa.Column("holdout", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("opened_at", UTCDateTime),
    sa.Column("clicked_at", UTCDateTime),
    sa.Column("converted_at", UTCDateTime),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="SET NULL")),
    sa.UniqueConstraint("campaign_id", "customer_id"),
    sa.CheckConstraint("NOT (holdout AND sent_at IS NOT NULL)", name="holdout_not_sent"),
    sa.Index("ix_campaign_deliveries_customer_id", "customer_id"),
    sa.Index("ix_campaign_deliveries_sent_at", "sent_at"),
)

loyalty_tiers = sa.Table(
    "loyalty_tiers",
    metadata,
    _pk(),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("name_zh", sa.String(64), nullable=False),
    sa.Column("name_en", sa.String(64), nullable=False),
    sa.Column("min_points", sa.Integer, nullable=False),
    sa.Column("benefits", JSONDoc),
    sa.Column("min_spend", MONEY, comment="threshold of rolling spend; NULL until synced"),
    sa.CheckConstraint("min_points >= 0", name="min_points_non_negative"),
)

loyalty_ledger = sa.Table(
    "loyalty_ledger",
    metadata,
    _pk(),
    _external_id(nullable=True),
    _customer_fk(),
    sa.Column("points", sa.Integer, nullable=False, comment="positive earns, negative spends"),
    sa.Column("reason", enum_type(LoyaltyReason, "loyalty_reason"), nullable=False),
    sa.Column("reference", sa.String(128), comment="e.g. order:SO123, campaign:C9"),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column(
        "available_at", UTCDateTime, comment="when earned points may be spent; NULL: at once"
    ),
    sa.CheckConstraint("points <> 0", name="points_non_zero"),
    sa.Index("ix_loyalty_ledger_customer_id_occurred_at", "customer_id", "occurred_at"),
    comment="append-only: triggers refuse UPDATE and DELETE",
)

loyalty_order_points = sa.Table(
    "loyalty_order_points",
    metadata,
    sa.Column(
        "order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("basis", MONEY, nullable=False, comment="the order's net amount when it earned"),
    sa.Column("points", sa.Integer, nullable=False, comment="the points it earned then"),
    sa.Column("posted_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("basis >= 0", name="basis_non_negative"),
    sa.CheckConstraint("points >= 0", name="points_non_negative"),
    comment="what each order earned, once: the basis of its clawbacks (docs/loyalty.md)",
)

loyalty_rewards = sa.Table(
    "loyalty_rewards",
    metadata,
    _pk(),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("name_zh", sa.String(128), nullable=False),
    sa.Column("name_en", sa.String(128), nullable=False),
    sa.Column("kind", enum_type(RewardKind, "reward_kind"), nullable=False),
    sa.Column("points", sa.Integer, nullable=False, comment="the price in points"),
    sa.Column("stock", sa.Integer, comment="vouchers left; NULL: unlimited"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    *_timestamps(),
    sa.CheckConstraint("points > 0", name="points_positive"),
    sa.CheckConstraint("stock IS NULL OR stock >= 0", name="stock_non_negative"),
    comment="the rewards catalogue: what points buy",
)

loyalty_vouchers = sa.Table(
    "loyalty_vouchers",
    metadata,
    _pk(),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("reward_id", sa.Integer, sa.ForeignKey("loyalty_rewards.id"), nullable=False),
    _customer_fk(),
    sa.Column(
        "ledger_id",
        sa.Integer,
        sa.ForeignKey("loyalty_ledger.id"),
        nullable=False,
        unique=True,
        comment="the redemption that paid for it",
    ),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime),
    sa.Index("ix_loyalty_vouchers_customer_id", "customer_id"),
    comment="a reward redeemed: its voucher code, once usable",
)

loyalty_member_tiers = sa.Table(
    "loyalty_member_tiers",
    metadata,
    sa.Column(
        "customer_id",
        sa.Integer,
        sa.ForeignKey("customers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("tier", sa.String(32), nullable=False, comment="a code of [[loyalty.tiers]]"),
    sa.Column("since", sa.Date, nullable=False, comment="local date the tier began"),
    sa.Column("review_on", sa.Date, nullable=False, comment="the next review date (local)"),
    sa.Column("grace_until", sa.Date, comment="below the tier since a review: kept until"),
    sa.Column("basis_value", MONEY, nullable=False, comment="the rolling basis when evaluated"),
    sa.Column("evaluated_at", UTCDateTime, nullable=False),
    sa.Index("ix_loyalty_member_tiers_tier", "tier"),
    comment="each member's programme tier now (docs/loyalty.md)",
)

loyalty_tier_changes = sa.Table(
    "loyalty_tier_changes",
    metadata,
    _pk(),
    _customer_fk(ondelete="CASCADE"),
    sa.Column("from_tier", sa.String(32), comment="NULL: the member's first tier"),
    sa.Column("to_tier", sa.String(32), nullable=False),
    sa.Column("reason", enum_type(TierChangeReason, "tier_change_reason"), nullable=False),
    sa.Column("changed_on", sa.Date, nullable=False, comment="local date of the change"),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.Column("basis_value", MONEY, nullable=False, comment="the rolling basis then"),
    sa.Index("ix_loyalty_tier_changes_customer_id_changed_at", "customer_id", "changed_at"),
    sa.Index("ix_loyalty_tier_changes_changed_on", "changed_on"),
    comment="the history of programme tier changes: initial, upgrade, downgrade, mapping",
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    _pk(),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("actor_user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("actor", sa.String(128), nullable=False, comment="username, token name or system"),
    sa.Column("action", enum_type(AuditAction, "audit_action"), nullable=False),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(64)),
    sa.Column("detail", JSONDoc),
    sa.Column("client_address", sa.String(64)),
    sa.Index("ix_audit_log_occurred_at", "occurred_at"),
    sa.Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),
)

customer_scores = sa.Table(
    "customer_scores",
    metadata,
    sa.Column(
        "customer_id",
        sa.Integer,
        sa.ForeignKey("customers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("satisfaction", sa.Float),
    sa.Column("loyalty", sa.Float),
    sa.Column("engagement", sa.Float),
    sa.Column("advocacy", sa.Float),
    sa.Column("relationship_index", sa.Float),
    sa.Column("recency_days", sa.Integer),
    sa.Column("frequency", sa.Integer),
    sa.Column("monetary", MONEY),
    sa.Column("r_score", sa.SmallInteger),
    sa.Column("f_score", sa.SmallInteger),
    sa.Column("m_score", sa.SmallInteger),
    sa.Column("rfm_segment", sa.String(32)),
    sa.Column("value_tier", enum_type(ValueTier, "value_tier")),
    sa.Column("lifecycle_stage", enum_type(LifecycleStage, "lifecycle_stage")),
    sa.Column("p_alive", sa.Float),
    sa.Column("expected_purchases_90d", sa.Float),
    sa.Column("predicted_clv", MONEY),
    sa.Column("churn_risk", sa.Float),
    # stored compact, read keyed (rapport.store.components)
    sa.Column("components", ComponentsDoc(), comment="inputs and reasons behind each score"),
    sa.Column(
        "churn_source",
        sa.String(32),
        comment="what rated the churn risk: classifier, or the purchase model's kind",
    ),
    sa.Column("computed_at", UTCDateTime, nullable=False),
    *[
        sa.CheckConstraint(f"{c} BETWEEN 0 AND 100", name=f"{c}_range")
        for c in ("satisfaction", "loyalty", "engagement", "advocacy", "relationship_index")
    ],
    *[
        sa.CheckConstraint(f"{c} BETWEEN 1 AND 5", name=f"{c}_range")
        for c in ("r_score", "f_score", "m_score")
    ],
    *[
        sa.CheckConstraint(f"{c} BETWEEN 0 AND 1", name=f"{c}_range")
        for c in ("p_alive", "churn_risk")
    ],
)

# A snapshot's customers the most valuable first (the worklist's customers not contacted).
sa.Index(
    "ix_customer_scores_as_of_predicted_clv",
    customer_scores.c.as_of,
    customer_scores.c.predicted_clv.desc(),
    customer_scores.c.customer_id,
)

# A snapshot's narrow columns: every column the snapshot reports read but the components
# document (group summaries, the RFM grid, the degrees, the headline history, the
# diamonds; migration 0015). They read this index instead of the rows (~1.4 kB each on
# SQLite), the diamonds their tier's range of it. It starts with the snapshot date, as the
# index above, so a read or a replacement of a snapshot by date needs no index of its own.
sa.Index(
    "ix_customer_scores_as_of_reports",
    customer_scores.c.as_of,
    customer_scores.c.value_tier,
    customer_scores.c.customer_id,
    customer_scores.c.lifecycle_stage,
    customer_scores.c.rfm_segment,
    customer_scores.c.r_score,
    customer_scores.c.f_score,
    customer_scores.c.monetary,
    customer_scores.c.predicted_clv,
    customer_scores.c.churn_risk,
    customer_scores.c.satisfaction,
    customer_scores.c.loyalty,
    customer_scores.c.engagement,
    customer_scores.c.advocacy,
    customer_scores.c.relationship_index,
)

# A snapshot's customers by churn risk, highest first, with what the churn warnings read
# beside them (migration 0017): the customer list sorted by risk walks it in order, and
# the warnings (risk at or above a threshold, rated by the classifier, with a predicted
# CLV) read one range of it without the rows.
sa.Index(
    "ix_customer_scores_as_of_churn_risk",
    customer_scores.c.as_of,
    customer_scores.c.churn_risk.desc(),
    customer_scores.c.customer_id,
    customer_scores.c.churn_source,
    customer_scores.c.predicted_clv,
)

# A snapshot's customers by relationship index, highest first (the customer list sorted by
# it; migration 0018).
sa.Index(
    "ix_customer_scores_as_of_relationship_index",
    customer_scores.c.as_of,
    customer_scores.c.relationship_index.desc(),
    customer_scores.c.customer_id,
)

# --- API access (migration 0002) ------------------------------------------------------------

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    _pk(),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False, comment="what the token is for"),
    sa.Column(
        "token_hash",
        sa.String(64),
        nullable=False,
        unique=True,
        comment="SHA-256 of the secret (hex); the secret itself is never stored",
    ),
    sa.Column("prefix", sa.String(16), nullable=False, comment="first characters, for display"),
    sa.Column("scopes", JSONDoc, nullable=False, comment='list, e.g. ["customers:read"]'),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("revoked_at", UTCDateTime),
    sa.Index("ix_api_tokens_user_id", "user_id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    _pk(),
    sa.Column("key", sa.String(255), nullable=False, comment="the Idempotency-Key header"),
    sa.Column("actor", sa.String(128), nullable=False, comment="who sent it (user or token)"),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("path", sa.String(255), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False, comment="SHA-256 of the request body"),
    sa.Column("response_status", sa.Integer, comment="NULL while the first request runs"),
    sa.Column("response_body", JSONDoc),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("key", "actor", "method", "path"),
    sa.Index("ix_idempotency_keys_created_at", "created_at"),
)

survey_links = sa.Table(
    "survey_links",
    metadata,
    _pk(),
    sa.Column(
        "token_hash",
        sa.String(64),
        nullable=False,
        unique=True,
        comment="SHA-256 of the link's secret (hex)",
    ),
    _customer_fk(ondelete="CASCADE"),
    sa.Column("kind", enum_type(SurveyKind, "survey_kind"), nullable=False),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="SET NULL")),
    sa.Column("context", JSONDoc, comment="what the survey is about (order, ticket, wording)"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, comment="single use: set when answered"),
    sa.Index("ix_survey_links_customer_id", "customer_id"),
)

# --- log-in throttle (migration 0003) --------------------------------------------------------

login_throttle = sa.Table(
    "login_throttle",
    metadata,
    _pk(),
    sa.Column("kind", enum_type(LoginThrottleKind, "login_throttle_kind"), nullable=False),
    sa.Column(
        "subject",
        sa.String(128),
        nullable=False,
        comment="the username (case-folded, known or not) or the client address",
    ),
    sa.Column("failures", sa.Integer, nullable=False, comment="failed log-ins in a row"),
    sa.Column("last_failed_at", UTCDateTime, comment="NULL: no failure counted yet"),
    sa.Column("locked_until", UTCDateTime, comment="log-ins refused (429) until then"),
    sa.UniqueConstraint("kind", "subject"),
    sa.Index("ix_login_throttle_last_failed_at", "last_failed_at"),
    comment="failed log-in counters, shared by every API worker",
)

# --- import jobs (migration 0005) --------------------------------------------------------------

import_jobs = sa.Table(
    "import_jobs",
    metadata,
    sa.Column(
        "id",
        sa.String(32),
        primary_key=True,
        default=lambda: uuid.uuid4().hex,
        comment="32 hex digits",
    ),
    sa.Column("entity", sa.String(32), nullable=False, comment="what the file is imported as"),
    sa.Column("file", sa.String(128), nullable=False, comment="the upload's (sanitized) name"),
    sa.Column(
        "directory",
        sa.String(1024),
        nullable=False,
        comment="folder of the upload and of its reject and warning files",
    ),
    sa.Column("size", sa.BigInteger, nullable=False, comment="bytes uploaded"),
    sa.Column("sheet", sa.String(100), comment="XLSX sheet (NULL: all)"),
    sa.Column("strict", sa.Boolean, nullable=False),
    sa.Column("submitted_by", sa.String(128), nullable=False, comment="username, and token if any"),
    sa.Column("submitted_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("status", enum_type(ImportJobStatus, "import_job_status"), nullable=False),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column(
        "heartbeat_at",
        UTCDateTime,
        nullable=False,
        comment="last sign of life of the process holding the unfinished job",
    ),
    sa.Column("rows_read", sa.Integer),
    sa.Column("rows_inserted", sa.Integer),
    sa.Column("rows_updated", sa.Integer),
    sa.Column("rows_unchanged", sa.Integer),
    sa.Column("rows_rejected", sa.Integer),
    sa.Column("report", JSONDoc, comment="the rest of the importer's report, once done"),
    sa.Column("error", JSONDoc, comment="why the job failed: code, message, field, hint"),
    sa.CheckConstraint("size >= 0", name="size_non_negative"),
    sa.Index("ix_import_jobs_submitted_at", "submitted_at"),
    sa.Index("ix_import_jobs_submitted_by_id", "submitted_by_id"),
    comment="import jobs of the API, shared by every server process",
)

#: The longest note about a customer, in characters.
NOTE_LENGTH = 2000

customer_notes = sa.Table(
    "customer_notes",
    metadata,
    _pk(),
    _customer_fk(ondelete="CASCADE"),
    sa.Column(
        "author_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="SET NULL"),
        comment="the staff member who wrote it (NULL: removed since, or written before notes "
        "had authors)",
    ),
    sa.Column("body", sa.String(NOTE_LENGTH), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(f"length(body) BETWEEN 1 AND {NOTE_LENGTH}", name="body_length"),
    sa.Index("ix_customer_notes_customer_id_created_at", "customer_id", "created_at"),
    comment="free-text notes of staff about a customer, append-only; not interactions",
)

# --- the action loop (migration 0009; docs/actions.md) ----------------------------------------

#: Who did something, as the audit log names them: a username, a token's name, or ``system``.
ACTOR = 128

playbooks = sa.Table(
    "playbooks",
    metadata,
    _pk(),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("version", sa.Integer, nullable=False, comment="the current definition's version"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("source", enum_type(PlaybookSource, "playbook_source"), nullable=False),
    sa.Column(
        "definition",
        JSONDoc,
        nullable=False,
        comment="trigger, audience filter, eligibility, actions, outcome (docs/actions.md)",
    ),
    *_timestamps(),
    sa.Column("updated_by", sa.String(ACTOR), nullable=False),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    comment="playbooks as data: their current definition and whether they run",
)

playbook_versions = sa.Table(
    "playbook_versions",
    metadata,
    _pk(),
    sa.Column(
        "playbook_id", sa.Integer, sa.ForeignKey("playbooks.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", JSONDoc, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(ACTOR), nullable=False),
    sa.UniqueConstraint("playbook_id", "version"),
    comment="every definition a playbook has had, append-only",
)

playbook_enrolments = sa.Table(
    "playbook_enrolments",
    metadata,
    _pk(),
    sa.Column("playbook_id", sa.Integer, sa.ForeignKey("playbooks.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, comment="the definition it ran under"),
    _customer_fk(ondelete="CASCADE"),
    sa.Column(
        "occasion",
        sa.String(128),
        nullable=False,
        comment="what triggered it (e.g. 2026-12-01, ticket:42, birthday:2026): once each",
    ),
    sa.Column("arm", enum_type(EnrolmentArm, "enrolment_arm"), nullable=False),
    sa.Column("run_date", sa.Date, nullable=False, comment="the pipeline day that enrolled it"),
    sa.Column("enrolled_at", UTCDateTime, nullable=False),
    sa.Column("reason", JSONDoc, comment="the trigger's evidence, shown to staff"),
    sa.Column("outcome_due_at", UTCDateTime, comment="end of the outcome window"),
    sa.Column("outcome_success", sa.Boolean, comment="NULL until measured"),
    sa.Column("outcome_value", MONEY, comment="revenue in the outcome window"),
    sa.Column("cost", MONEY, comment="what the actions cost (costs unit prices)"),
    sa.Column("measured_at", UTCDateTime),
    sa.UniqueConstraint("playbook_id", "customer_id", "occasion"),
    sa.Index("ix_playbook_enrolments_customer_id_enrolled_at", "customer_id", "enrolled_at"),
    sa.Index("ix_playbook_enrolments_playbook_id_run_date", "playbook_id", "run_date"),
    comment="who a playbook enrolled, in which arm, and the measured outcome",
)

tasks = sa.Table(
    "tasks",
    metadata,
    _pk(),
    _customer_fk(ondelete="CASCADE"),
    sa.Column(
        "assignee_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="SET NULL"),
        comment="the staff member it is for (NULL: the team queue)",
    ),
    sa.Column("team", sa.String(64), comment="the queue of a team when no one is assigned"),
    sa.Column(
        "enrolment_id",
        sa.Integer,
        sa.ForeignKey("playbook_enrolments.id", ondelete="SET NULL"),
        comment="the playbook enrolment that made it (NULL: made by hand)",
    ),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("script", sa.Text, comment="what to say: the playbook's suggested script"),
    sa.Column("priority", enum_type(TicketPriority, "task_priority"), nullable=False),
    sa.Column("status", enum_type(TaskStatus, "task_status"), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("result", sa.String(64), comment="the call's result (reached, no_answer …)"),
    sa.Column("note", sa.String(2000)),
    sa.Column("skip_reason", sa.String(500)),
    *_timestamps(),
    sa.Column("completed_at", UTCDateTime),
    sa.Column("completed_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.CheckConstraint("status <> 'skipped' OR skip_reason IS NOT NULL", name="skipped_has_reason"),
    sa.Index("ix_tasks_assignee_id_status_due_at", "assignee_id", "status", "due_at"),
    sa.Index("ix_tasks_customer_id", "customer_id"),
    sa.Index("ix_tasks_status_due_at", "status", "due_at"),
    comment="work for staff: a call, a visit, a gift — by hand or from a playbook",
)

alerts = sa.Table(
    "alerts",
    metadata,
    _pk(),
    sa.Column("kind", enum_type(AlertKind, "alert_kind"), nullable=False),
    sa.Column(
        "dedup_key",
        sa.String(200),
        nullable=False,
        unique=True,
        comment="one alert per condition: raising it again only updates last_seen_at",
    ),
    _customer_fk(nullable=True, ondelete="CASCADE"),
    sa.Column("severity", enum_type(AlertSeverity, "alert_severity"), nullable=False),
    sa.Column("status", enum_type(AlertStatus, "alert_status"), nullable=False),
    sa.Column("details", JSONDoc, comment="the evidence: scores, thresholds, ticket, metric"),
    sa.Column("raised_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("acknowledged_at", UTCDateTime),
    sa.Column("acknowledged_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("resolved_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Index("ix_alerts_status_raised_at", "status", "raised_at"),
    sa.Index("ix_alerts_customer_id", "customer_id"),
    comment="warnings for staff, deduplicated, acknowledged and resolved",
)

outbox = sa.Table(
    "outbox",
    metadata,
    _pk(),
    sa.Column(
        "idempotency_key",
        sa.String(200),
        nullable=False,
        unique=True,
        comment="one message per key, sent with it (Message-ID, Idempotency-Key header)",
    ),
    sa.Column("channel", enum_type(MessageChannel, "message_channel"), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False, comment="address, number or URL"),
    _customer_fk(nullable=True, ondelete="SET NULL"),
    sa.Column(
        "enrolment_id",
        sa.Integer,
        sa.ForeignKey("playbook_enrolments.id", ondelete="SET NULL"),
    ),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="SET NULL")),
    sa.Column("subject", sa.String(300)),
    sa.Column("body", sa.Text),
    sa.Column("payload", JSONDoc, comment="the webhook's JSON body, or the message's data"),
    sa.Column("status", enum_type(OutboxStatus, "outbox_status"), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_until", UTCDateTime, comment="a sender's lease while sending"),
    sa.Column("last_error", sa.String(1000)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    sa.Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    sa.Index("ix_outbox_customer_id_created_at", "customer_id", "created_at"),
    comment="messages waiting to leave, and what became of them: each sent once",
)

pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    _pk(),
    sa.Column("run_date", sa.Date, nullable=False, comment="the business day it ran for"),
    sa.Column("step", sa.String(32), nullable=False, comment="score, playbooks, alerts, messages"),
    sa.Column("status", enum_type(RunStatus, "run_status"), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    sa.Column("summary", JSONDoc, comment="what the step did: counts, figures"),
    sa.Column("error", JSONDoc, comment="why it failed: code, message"),
    sa.UniqueConstraint("run_date", "step"),
    comment="the daily pipeline's steps, once per day each",
)

store_locks = sa.Table(
    "store_locks",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False, comment="host:pid of the holder"),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, comment="a lease: renewed while held"),
    comment="named leases shared by every process (one daily pipeline at a time)",
)

kept_reports = sa.Table(
    "kept_reports",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True, comment="SHA-256 of the report's key"),
    sa.Column("as_of", sa.Date, nullable=False, comment="the snapshot the report reads"),
    sa.Column("report", sa.String(64), nullable=False, comment="which report"),
    sa.Column(
        "generation",
        sa.String(64),
        nullable=False,
        comment="SHA-256 of the snapshot's and the customers' state it was computed in",
    ),
    sa.Column("payload", sa.Text, nullable=False, comment="the result, as JSON"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_kept_reports_as_of_report_generation", "as_of", "report", "generation"),
    comment="snapshot reports computed ahead for the pages: a cache, safe to empty",
)

table_changes = sa.Table(
    "table_changes",
    metadata,
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column(
        "changes",
        sa.Integer,
        nullable=False,
        comment="rows updated or deleted since the row was made (SQLite: by triggers)",
    ),
    sa.Column(
        "since",
        sa.String(32),
        nullable=False,
        comment="a random key given with the row: another store has another",
    ),
    comment="per table the scoring run copies, a count of its changed rows "
    "(migration 0021): the run refreshes its copy from what changed",
)

#: Tables in dependency order (parents first), for status listings and loaders.
TABLES: tuple[sa.Table, ...] = tuple(metadata.sorted_tables)
