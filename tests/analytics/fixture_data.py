"""A small hand-built company whose every metric is worked out by hand in test_metrics.py.

Rows are canonical (every column of :data:`rapport.analytics.tables.SCHEMAS`, times naive
UTC) and respect the store's constraints, so the same rows load into every engine.

The analysis period is the first half of 2024 in Shanghai time::

    PERIOD  = [2023-12-31 16:00, 2024-06-30 16:00) UTC   182 days, 5.9795 months
    W       = 365 days (the default activity window)
    S base  = [2022-12-31 16:00, 2023-12-31 16:00)        purchases making "active at start"
    E base  = [2023-07-01 16:00, 2024-06-30 16:00)        purchases making "active at end"
    churn window of clv_simple: [2023-07-01 16:00, 2024-06-30 16:00), its base (active at
    2023-07-01 16:00) from purchases in [2022-07-01 16:00, 2023-07-01 16:00)

The customers (segment = city; c8 and c10 have no city, so no segment row):

==== ====== ================================================================= =============
id   city   completed purchases (net amount)                                  role
==== ====== ================================================================= =============
c1   上海   2023-03-10 100, 2023-09-15 200, 2024-02-10 150, 2024-05-20 250    loyal: S, E
c2   上海   2023-02-01 80                                                     S, churns
c3   北京   2021-05-01 120, 2024-03-03 90                                     reactivated
c4   北京   2024-01-25 60, 2024-04-12 40 (gross 70, 30 refunded)              new, repeat
c5   广州   2024-06-01 300 (+ a cancelled and a fully refunded order)         new
c6   广州   2023-12-31 16:00:00 50 — exactly at ``start``                     new
c7   上海   2023-08-20 70                                                     S, E, idle
c8   —      none (one cancelled order)                                        not a buyer
c9   北京   2022-11-15 30, 2024-06-30 16:00:00 500 — exactly at ``end``       neither
c10  —      2024-06-30 15:59:59 20 — a second before ``end``                  new
==== ====== ================================================================= =============
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rapport.analytics.periods import Period
from rapport.analytics.tables import SCHEMAS

TZ = "Asia/Shanghai"
#: When the analysis runs: every row below happened before it.
AS_OF = datetime(2024, 9, 1)
#: 2024-01..2024-06 in Shanghai.
PERIOD = Period(datetime(2023, 12, 31, 16), datetime(2024, 6, 30, 16))
#: A period without any data (its activity windows are empty too).
EMPTY_PERIOD = Period(datetime(2030, 1, 1), datetime(2030, 2, 1))


def _rows(table: str, *rows: dict[str, Any]) -> list[dict[str, Any]]:
    """Complete each row with every canonical column (None where not given)."""
    names = SCHEMAS[table].names
    out = []
    for row in rows:
        unknown = set(row) - set(names)
        if unknown:
            raise KeyError(f"{table}: no columns {sorted(unknown)}")
        out.append({name: row.get(name) for name in names})
    return out


def _customer(id: int, name: str, city: str | None, created: datetime) -> dict[str, Any]:
    province = {"上海": "上海", "北京": "北京", "广州": "广东"}.get(city or "")
    return {
        "id": id,
        "external_id": f"C{id:03d}",
        "name": name,
        "country": "CN",
        "province": province,
        "city": city,
        "marketing_consent": True,
        "marketing_opt_out": False,
        "created_at": created,
        "updated_at": created,
    }


def _order(
    id: int,
    customer: int,
    at: datetime,
    net: float,
    *,
    status: str = "completed",
    gross: float | None = None,
    discount: float = 0.0,
    refunded: float = 0.0,
) -> dict[str, Any]:
    return {
        "id": id,
        "external_id": f"SO{id:04d}",
        "customer_id": customer,
        "status": status,
        "ordered_at": at,
        "gross_amount": gross if gross is not None else net + discount + refunded,
        "discount_amount": discount,
        "refunded_amount": refunded,
        "net_amount": net,
        "currency": "CNY",
        "channel": "tmall",
        "created_at": at,
        "updated_at": at,
    }


def _lead(
    id: int,
    created: datetime,
    status: str,
    *,
    customer: int | None = None,
    converted: datetime | None = None,
    source: str = "search_ads",
) -> dict[str, Any]:
    return {
        "id": id,
        "external_id": f"L{id:03d}",
        "name": f"线索{id}",
        "source": source,
        "status": status,
        "converted_customer_id": customer,
        "converted_at": converted,
        "created_at": created,
        "updated_at": converted or created,
    }


def _ticket(
    id: int,
    customer: int,
    kind: str,
    priority: str,
    channel: str | None,
    status: str,
    opened: datetime,
    *,
    response: datetime | None = None,
    resolved: datetime | None = None,
    closed: datetime | None = None,
    response_due: datetime | None = None,
    resolution_due: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "external_id": f"T{id:03d}",
        "customer_id": customer,
        "kind": kind,
        "channel": channel,
        "priority": priority,
        "status": status,
        "subject": f"工单{id}",
        "opened_at": opened,
        "first_response_at": response,
        "resolved_at": resolved,
        "closed_at": closed,
        "first_response_due_at": response_due,
        "resolution_due_at": resolution_due,
        "created_at": opened,
        "updated_at": closed or resolved or response or opened,
    }


def _survey(
    id: int, customer: int, kind: str, at: datetime, score: float, lo: float, hi: float
) -> dict[str, Any]:
    return {
        "id": id,
        "external_id": f"R{id:03d}",
        "customer_id": customer,
        "kind": kind,
        "score": score,
        "scale_min": lo,
        "scale_max": hi,
        "channel": "wechat",
        "responded_at": at,
    }


def _interaction(id: int, customer: int, channel: str, at: datetime) -> dict[str, Any]:
    return {
        "id": id,
        "external_id": f"I{id:03d}",
        "customer_id": customer,
        "channel": channel,
        "direction": "inbound",
        "occurred_at": at,
        "duration_seconds": 300,
        "subject": "咨询",
    }


def _delivery(
    id: int,
    campaign: int,
    customer: int,
    *,
    sent: datetime | None = None,
    delivered: datetime | None = None,
    opened: datetime | None = None,
    clicked: datetime | None = None,
    holdout: bool = False,
) -> dict[str, Any]:
    return {
        "id": id,
        "external_id": f"D{id:03d}",
        "campaign_id": campaign,
        "customer_id": customer,
        "holdout": holdout,
        "sent_at": sent,
        "delivered_at": delivered,
        "opened_at": opened,
        "clicked_at": clicked,
    }


def _referral(
    id: int,
    referrer: int,
    at: datetime,
    *,
    lead: int | None = None,
    customer: int | None = None,
    converted_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "external_id": f"RF{id:03d}",
        "referrer_customer_id": referrer,
        "referred_lead_id": lead,
        "referred_customer_id": customer,
        "referred_at": at,
        "channel": "wechat",
        "converted": converted_at is not None,
        "converted_at": converted_at,
    }


D = datetime
START, END = PERIOD.start, PERIOD.end

CUSTOMERS = _rows(
    "customers",
    _customer(1, "王芳", "上海", D(2023, 1, 1)),
    _customer(2, "李伟", "上海", D(2023, 1, 1)),
    _customer(3, "张敏", "北京", D(2021, 4, 1)),
    _customer(4, "刘洋", "北京", D(2024, 1, 20, 12)),
    _customer(5, "陈静", "广州", D(2024, 1, 15)),
    _customer(6, "杨磊", "广州", D(2023, 12, 20, 12)),
    _customer(7, "赵丽", "上海", D(2023, 8, 1)),
    _customer(8, "黄强", None, D(2024, 5, 1)),
    _customer(9, "周杰", "北京", D(2022, 11, 1)),
    _customer(10, "吴婷", None, D(2024, 6, 20, 12)),
)

ORDERS = _rows(
    "orders",
    _order(1, 1, D(2023, 3, 10, 12), 100.0),
    _order(2, 1, D(2023, 9, 15, 12), 200.0),
    _order(3, 1, D(2024, 2, 10, 12), 150.0),
    _order(4, 1, D(2024, 5, 20, 12), 250.0),
    _order(5, 2, D(2023, 2, 1, 12), 80.0),
    _order(6, 3, D(2021, 5, 1, 12), 120.0),
    _order(7, 3, D(2024, 3, 3, 12), 90.0),
    _order(8, 4, D(2024, 1, 25, 12), 60.0),
    # partial refund: 70 paid, 30 refunded, the purchase is worth 40
    _order(9, 4, D(2024, 4, 12, 12), 40.0, gross=70.0, refunded=30.0),
    _order(10, 5, D(2024, 2, 1, 12), 500.0, status="cancelled"),
    _order(11, 5, D(2024, 3, 1, 12), 0.0, status="refunded", gross=200.0, refunded=200.0),
    _order(12, 5, D(2024, 6, 1, 12), 300.0, gross=320.0, discount=20.0),
    _order(13, 6, START, 50.0),  # exactly at start: in the period, not in the S base
    _order(14, 7, D(2023, 8, 20, 12), 70.0),
    _order(15, 8, D(2024, 5, 5, 12), 120.0, status="cancelled"),
    _order(16, 9, D(2022, 11, 15, 12), 30.0),
    _order(17, 9, END, 500.0),  # exactly at end: after the period
    _order(18, 10, D(2024, 6, 30, 15, 59, 59), 20.0),
)

LEADS = _rows(
    "leads",
    _lead(1, D(2024, 1, 10, 12), "converted", customer=4, converted=D(2024, 1, 20, 12)),
    # converts after the period's end: not a conversion of the period
    _lead(2, D(2024, 2, 15, 12), "converted", customer=8, converted=D(2024, 8, 1, 12)),
    _lead(3, D(2024, 3, 1, 12), "qualified", source="referral"),
    # created before the period
    _lead(4, D(2023, 11, 1, 12), "converted", customer=6, converted=D(2023, 12, 20, 12)),
    _lead(5, D(2024, 5, 10, 12), "converted", customer=5, converted=D(2024, 5, 25, 12)),
    _lead(6, D(2024, 4, 1, 12), "new", source="referral"),
    _lead(7, END, "new"),  # created exactly at end: after the period
)

TICKETS = _rows(
    "tickets",
    # high: respond within 8 h, resolve within 48 h → met
    _ticket(1, 1, "complaint", "high", "phone", "resolved", D(2024, 2, 20, 8),
            response=D(2024, 2, 20, 10), resolved=D(2024, 2, 21, 8),
            response_due=D(2024, 2, 20, 16), resolution_due=D(2024, 2, 22, 8)),
    # normal: first response after 30 h > 24 h → missed
    _ticket(2, 2, "complaint", "normal", "email", "closed", D(2024, 3, 1),
            response=D(2024, 3, 2, 6), resolved=D(2024, 3, 4), closed=D(2024, 3, 5),
            response_due=D(2024, 3, 2), resolution_due=D(2024, 3, 6)),
    # urgent: answered in 1 h but resolved after 24 h > 12 h → missed
    _ticket(3, 3, "complaint", "urgent", "phone", "resolved", D(2024, 4, 1, 12),
            response=D(2024, 4, 1, 13), resolved=D(2024, 4, 2, 12),
            response_due=D(2024, 4, 1, 14), resolution_due=D(2024, 4, 2)),
    # low: never answered → excluded from the medians, missed for the SLA
    _ticket(4, 3, "complaint", "low", "wechat", "open", D(2024, 5, 1),
            response_due=D(2024, 5, 3), resolution_due=D(2024, 5, 11)),
    # normal: answered in 4 h, resolved only after end; due after end
    _ticket(5, 5, "inquiry", "normal", "email", "resolved", D(2024, 6, 28),
            response=D(2024, 6, 28, 4), resolved=D(2024, 7, 2),
            response_due=D(2024, 6, 29), resolution_due=D(2024, 7, 3)),
    # before the period entirely
    _ticket(6, 4, "complaint", "normal", "phone", "closed", D(2023, 12, 1),
            response=D(2023, 12, 1, 5), resolved=D(2023, 12, 2), closed=D(2023, 12, 2),
            response_due=D(2023, 12, 2), resolution_due=D(2023, 12, 6)),
    # opened before the period, due (and resolved exactly at its due time) inside it → met
    _ticket(7, 1, "inquiry", "high", "chat", "resolved", D(2023, 12, 30),
            response=D(2023, 12, 30, 4), resolved=D(2024, 1, 1),
            response_due=D(2023, 12, 30, 8), resolution_due=D(2024, 1, 1)),
    # no due times stored (rules: low = 48 h / 240 h); closed without a resolution stamp
    _ticket(8, 7, "suggestion", "low", None, "closed", D(2024, 6, 1),
            response=D(2024, 6, 2), closed=D(2024, 6, 5)),
)  # fmt: skip

SURVEY_RESPONSES = _rows(
    "survey_responses",
    # nps, 0–10: c1 answers twice (the later 10 counts)
    _survey(1, 1, "nps", D(2024, 2, 1, 12), 6, 0, 10),
    _survey(2, 1, "nps", D(2024, 5, 1, 12), 10, 0, 10),
    _survey(3, 3, "nps", D(2024, 3, 10, 12), 9, 0, 10),
    _survey(4, 4, "nps", D(2024, 4, 20, 12), 7, 0, 10),
    _survey(5, 5, "nps", D(2024, 6, 10, 12), 3, 0, 10),
    _survey(6, 7, "nps", D(2023, 12, 1, 12), 0, 0, 10),  # before the period
    _survey(7, 2, "nps", D(2024, 7, 5, 12), 2, 0, 10),  # after the period
    # csat on 1–5, 1–10 and 1–7 scales
    _survey(8, 1, "csat", D(2024, 2, 12, 12), 5, 1, 5),
    _survey(9, 1, "csat", D(2024, 5, 10, 12), 3, 1, 5),
    _survey(10, 3, "csat", D(2024, 3, 12, 12), 3, 1, 5),
    _survey(11, 4, "csat", D(2024, 4, 15, 12), 4, 1, 5),
    _survey(12, 5, "csat", D(2024, 6, 5, 12), 9, 1, 10),
    _survey(13, 6, "csat", D(2024, 1, 20, 12), 6, 1, 7),
    _survey(14, 7, "csat", END, 1, 1, 5),  # exactly at end: after the period
    # perceived value
    _survey(15, 1, "perceived_value", D(2024, 3, 1, 12), 8, 0, 10),
    _survey(16, 4, "perceived_value", D(2024, 5, 1, 12), 3, 1, 5),
    # expectation
    _survey(17, 1, "expectation", D(2024, 1, 15, 12), 4, 1, 5),
    _survey(18, 3, "expectation", D(2024, 3, 5, 12), 4, 1, 5),
    _survey(19, 6, "expectation", D(2024, 1, 10, 12), 7, 1, 7),
    _survey(20, 2, "expectation", D(2024, 2, 2, 12), 3, 1, 5),  # c2 gave no csat
)

INTERACTIONS = _rows(
    "interactions",
    _interaction(1, 1, "phone", D(2024, 1, 5, 12)),
    _interaction(2, 1, "chat", D(2024, 2, 14, 12)),
    _interaction(3, 1, "visit", D(2024, 5, 1, 12)),
    _interaction(4, 3, "after_sales", D(2024, 3, 3, 12)),
    _interaction(5, 8, "phone", D(2024, 4, 4, 12)),  # c8 is not a buyer
    _interaction(6, 2, "email", D(2024, 6, 15, 12)),
    _interaction(7, 4, "phone", D(2023, 12, 31, 15, 59, 59)),  # a second before start
    _interaction(8, 5, "chat", END),  # exactly at end
)

CAMPAIGNS = _rows(
    "campaigns",
    {
        "id": 1,
        "external_id": "CP01",
        "name": "春季焕新邮件",
        "channel": "email",
        "objective": "upsell",
        "started_at": D(2024, 3, 1),
        "holdout_share": 0.2,
        "created_at": D(2024, 2, 20),
        "updated_at": D(2024, 2, 20),
    },
    {
        "id": 2,
        "external_id": "CP02",
        "name": "短信促销",
        "channel": "sms",
        "objective": "promotion",
        "started_at": D(2024, 3, 1),
        "holdout_share": 0.0,
        "created_at": D(2024, 2, 20),
        "updated_at": D(2024, 2, 20),
    },
)

CAMPAIGN_DELIVERIES = _rows(
    "campaign_deliveries",
    _delivery(1, 1, 1, sent=D(2024, 3, 1, 2), delivered=D(2024, 3, 1, 2, 1),
              opened=D(2024, 3, 2, 9), clicked=D(2024, 3, 2, 9, 5)),
    _delivery(2, 1, 3, sent=D(2024, 3, 1, 2), delivered=D(2024, 3, 1, 2, 1),
              opened=D(2024, 3, 5, 10)),
    _delivery(3, 1, 4, sent=D(2024, 3, 1, 2), delivered=D(2024, 3, 1, 2, 1)),
    _delivery(4, 1, 5, sent=D(2024, 3, 1, 2)),  # bounced: never delivered
    _delivery(5, 1, 7, holdout=True),  # holdout: never sent
    _delivery(6, 1, 6, sent=D(2024, 6, 30, 10), delivered=D(2024, 6, 30, 10),
              opened=D(2024, 7, 2, 8)),  # opened only after end
    _delivery(7, 2, 1, sent=D(2024, 3, 1, 2), delivered=D(2024, 3, 1, 2),
              clicked=D(2024, 3, 1, 3)),  # sms, not e-mail
    _delivery(8, 1, 2, sent=D(2023, 12, 1), delivered=D(2023, 12, 1),
              opened=D(2023, 12, 2)),  # sent before the period
)  # fmt: skip

REFERRALS = _rows(
    "referrals",
    _referral(1, 1, D(2024, 4, 1, 12), lead=6),
    _referral(2, 1, D(2024, 6, 20, 12), customer=10, converted_at=D(2024, 6, 30, 15, 59, 59)),
    _referral(3, 2, D(2024, 3, 1, 12), lead=3),
    _referral(4, 9, D(2023, 10, 1, 12), lead=4),  # before the period
)

#: Every canonical table (the ones the metrics do not read are empty).
TABLES: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMAS}
TABLES.update(
    customers=CUSTOMERS,
    orders=ORDERS,
    leads=LEADS,
    tickets=TICKETS,
    survey_responses=SURVEY_RESPONSES,
    interactions=INTERACTIONS,
    campaigns=CAMPAIGNS,
    campaign_deliveries=CAMPAIGN_DELIVERIES,
    referrals=REFERRALS,
)
