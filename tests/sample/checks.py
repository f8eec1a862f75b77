"""Vectorized checks that a company satisfies the import format and the schema's rules."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rapport.domain import (
    CampaignChannel,
    Direction,
    EventKind,
    Gender,
    InteractionChannel,
    LeadStatus,
    LoyaltyReason,
    OrderStatus,
    Role,
    SurveyKind,
    TicketKind,
    TicketPriority,
    TicketStatus,
)
from rapport.sample import SCHEMAS, SampleCompany

ENUMS = {
    ("users", "role"): Role,
    ("customers", "gender"): Gender,
    ("leads", "status"): LeadStatus,
    ("orders", "status"): OrderStatus,
    ("events", "kind"): EventKind,
    ("interactions", "channel"): InteractionChannel,
    ("interactions", "direction"): Direction,
    ("tickets", "kind"): TicketKind,
    ("tickets", "priority"): TicketPriority,
    ("tickets", "status"): TicketStatus,
    ("survey_responses", "kind"): SurveyKind,
    ("campaigns", "channel"): CampaignChannel,
    ("loyalty_ledger", "reason"): LoyaltyReason,
}

#: (entity, column) -> (referenced entity, key)
REFERENCES = {
    ("customers", "owner_username"): ("users", "username"),
    ("leads", "owner_username"): ("users", "username"),
    ("leads", "converted_customer_external_id"): ("customers", "external_id"),
    ("orders", "customer_external_id"): ("customers", "external_id"),
    ("order_items", "order_external_id"): ("orders", "external_id"),
    ("order_items", "product_sku"): ("products", "sku"),
    ("events", "customer_external_id"): ("customers", "external_id"),
    ("events", "product_sku"): ("products", "sku"),
    ("events", "campaign_external_id"): ("campaigns", "external_id"),
    ("interactions", "customer_external_id"): ("customers", "external_id"),
    ("interactions", "staff_username"): ("users", "username"),
    ("tickets", "customer_external_id"): ("customers", "external_id"),
    ("tickets", "assignee_username"): ("users", "username"),
    ("survey_responses", "customer_external_id"): ("customers", "external_id"),
    ("survey_responses", "ticket_external_id"): ("tickets", "external_id"),
    ("survey_responses", "campaign_external_id"): ("campaigns", "external_id"),
    ("referrals", "referrer_external_id"): ("customers", "external_id"),
    ("referrals", "referred_lead_external_id"): ("leads", "external_id"),
    ("referrals", "referred_customer_external_id"): ("customers", "external_id"),
    ("campaign_deliveries", "campaign_external_id"): ("campaigns", "external_id"),
    ("campaign_deliveries", "customer_external_id"): ("customers", "external_id"),
    ("campaign_deliveries", "order_external_id"): ("orders", "external_id"),
    ("loyalty_ledger", "customer_external_id"): ("customers", "external_id"),
}

#: per entity: (customer key column, time column) that must not precede created_at
CUSTOMER_TIMES = {
    "orders": ("customer_external_id", "ordered_at"),
    "events": ("customer_external_id", "occurred_at"),
    "interactions": ("customer_external_id", "occurred_at"),
    "tickets": ("customer_external_id", "opened_at"),
    "survey_responses": ("customer_external_id", "responded_at"),
    "loyalty_ledger": ("customer_external_id", "occurred_at"),
    "campaign_deliveries": ("customer_external_id", "sent_at"),
    "referrals": ("referrer_external_id", "referred_at"),
}

UNIQUE_KEYS = {"users": "username", "products": "sku", "order_items": None}


def frame(c: SampleCompany, entity: str) -> pd.DataFrame:
    return c[entity].to_pandas()


def cents(c: SampleCompany, entity: str, column: str) -> np.ndarray:
    """Decimal money as exact integer cents."""
    col = c[entity][column]
    assert col.type == pa.decimal128(14, 2)
    return pc.multiply(col.fill_null(0), 100).cast(pa.int64()).to_numpy()


def check_schema(c: SampleCompany) -> None:
    assert list(c.tables) == list(SCHEMAS)
    for name, schema in SCHEMAS.items():
        assert c[name].schema.equals(schema), name


def check_keys_and_references(c: SampleCompany) -> None:
    for name in SCHEMAS:
        key = UNIQUE_KEYS.get(name, "external_id")
        if key is None:
            continue
        col = c[name][key]
        assert col.null_count == 0, name
        assert len(col.unique()) == len(col), f"duplicate {name}.{key}"
    for (entity, column), (target, key) in REFERENCES.items():
        values = c[entity][column].drop_null().unique()
        known = pc.is_in(values, value_set=c[target][key])
        assert pc.all(known).as_py() in (True, None), f"{entity}.{column} unresolved"
    for (entity, column), enum in ENUMS.items():
        allowed = pa.array([e.value for e in enum])
        known = pc.is_in(c[entity][column], value_set=allowed)
        assert pc.all(known).as_py() in (True, None), f"{entity}.{column} outside its enum"


def check_times(c: SampleCompany, end_utc: pd.Timestamp) -> None:
    created = frame(c, "customers").set_index("external_id").created_at
    for entity, (key, col) in CUSTOMER_TIMES.items():
        df = frame(c, entity)[[key, col]].dropna()
        assert (df[col].to_numpy() >= created.loc[df[key]].to_numpy()).all(), entity
    for name in SCHEMAS:
        for f in c[name].schema:
            if pa.types.is_timestamp(f.type):
                latest = pc.max(c[name][f.name]).as_py()
                if latest is None:
                    continue
                if (name, f.name) == ("campaigns", "ended_at"):
                    assert latest <= end_utc, "a campaign ends after end"
                else:
                    assert latest < end_utc, f"{name}.{f.name} at or after end"
    orders = frame(c, "orders")
    assert (orders.ordered_at < end_utc).all()


def check_orders(c: SampleCompany) -> None:
    o = frame(c, "orders")
    items = frame(c, "order_items")
    gross, disc, ref, net = (
        cents(c, "orders", k)
        for k in ("gross_amount", "discount_amount", "refunded_amount", "net_amount")
    )
    assert (gross >= 0).all() and (disc >= 0).all() and (ref >= 0).all() and (net >= 0).all()
    paid = o.status != "cancelled"
    assert (net[paid] == (gross - disc - ref)[paid]).all()
    assert (net[~paid] == 0).all() and (ref[~paid] == 0).all()
    assert (net[o.status == "refunded"] == 0).all()
    assert disc.max() <= gross.max() and (disc <= gross).all()
    line = cents(c, "order_items", "net_amount")
    unit = cents(c, "order_items", "unit_price")
    assert (items.quantity > 0).all() and (items.line_no > 0).all() and (unit >= 0).all()
    assert (line == unit * items.quantity.to_numpy()).all()
    assert not items.duplicated(["order_external_id", "line_no"]).any()
    summed = pd.Series(line).groupby(items.order_external_id.to_numpy()).sum()
    assert (summed.reindex(o.external_id).to_numpy() == gross).all()
    assert (cents(c, "products", "price") > 0).all()
    assert (cents(c, "campaigns", "budget") >= 0).all()


def check_service(c: SampleCompany) -> None:
    t = frame(c, "tickets")
    assert (t.first_response_at.isna() | (t.first_response_at >= t.opened_at)).all()
    assert (t.resolved_at.isna() | (t.resolved_at >= t.opened_at)).all()
    assert (t.resolved_at.isna() | (t.resolved_at >= t.first_response_at)).all()
    assert (t.closed_at.isna() | (t.closed_at >= t.resolved_at)).all()
    assert ((t.status == "closed") == t.closed_at.notna()).all()
    assert t.resolved_at[t.status.isin(["resolved", "closed"])].notna().all()
    assert t.resolved_at[t.status.isin(["open", "in_progress", "waiting_customer"])].isna().all()
    r = t.satisfaction_rating.dropna()
    assert r.between(1, 5).all()
    s = frame(c, "survey_responses")
    assert (s.scale_max > s.scale_min).all()
    assert s.score.between(s.scale_min, s.scale_max).all()
    assert (s.score == s.score.round()).all()
    i = frame(c, "interactions")
    assert (i.duration_seconds.dropna() >= 0).all()
    e = frame(c, "events")
    assert (e.dwell_seconds.dropna() >= 0).all()


def check_relations(c: SampleCompany) -> None:
    leads = frame(c, "leads")
    assert ((leads.status == "converted") == leads.converted_at.notna()).all()
    assert (leads.converted_customer_external_id.notna() == leads.converted_at.notna()).all()
    assert (leads.converted_at.isna() | (leads.converted_at >= leads.created_at)).all()
    r = frame(c, "referrals")
    assert (r.referred_customer_external_id != r.referrer_external_id).all()
    assert (r.referred_lead_external_id.notna() | r.referred_customer_external_id.notna()).all()
    assert (r.converted == r.converted_at.notna()).all()
    d = frame(c, "campaign_deliveries")
    held = d[d.holdout]
    assert held[["sent_at", "delivered_at", "opened_at", "clicked_at"]].isna().all().all()
    assert not d.duplicated(["campaign_external_id", "customer_external_id"]).any()
    assert (d.delivered_at.isna() | (d.delivered_at >= d.sent_at)).all()
    assert (d.opened_at.isna() | (d.opened_at >= d.delivered_at)).all()
    assert (d.clicked_at.isna() | (d.clicked_at >= d.delivered_at)).all()
    cust = frame(c, "customers").set_index("external_id")
    reach = cust.marketing_consent & ~cust.marketing_opt_out
    assert reach.loc[d.customer_external_id].all()
    conv = d.dropna(subset=["order_external_id"])
    o = frame(c, "orders").set_index("external_id")
    assert (
        o.customer_external_id.loc[conv.order_external_id].to_numpy()
        == conv.customer_external_id.to_numpy()
    ).all()
    assert (
        o.ordered_at.loc[conv.order_external_id].to_numpy() == conv.converted_at.to_numpy()
    ).all()
    assert d.converted_at.notna().sum() == len(conv)


def check_loyalty(c: SampleCompany) -> None:
    ledger = frame(c, "loyalty_ledger")
    assert (ledger.points != 0).all()
    ledger = ledger.sort_values(["customer_external_id", "occurred_at"], kind="stable")
    balance = ledger.groupby("customer_external_id").points.cumsum()
    assert (balance >= 0).all()
    joined = frame(c, "customers").set_index("external_id").loyalty_joined_at
    j = joined.loc[ledger.customer_external_id].to_numpy()
    assert (ledger.occurred_at.to_numpy() >= j).all()


PHONE = {"zh_CN": re.compile(r"^\+861[3-9]\d{9}$"), "en_US": re.compile(r"^\+1[2-9]\d{9}$")}


def check_contacts(c: SampleCompany) -> None:
    cust = frame(c, "customers")
    pattern = PHONE[c.params["locale"]]
    assert cust.phone.dropna().map(lambda p: bool(pattern.match(p))).all()
    assert cust.email.dropna().str.contains(r"^[a-z.]+\.\d+@[a-z0-9.]+$").all()
    for col in ("phone", "email", "wechat_id"):
        values = cust[col].dropna()
        assert not values.duplicated().any(), col
    tags = cust.tags.dropna()
    assert tags.str.startswith("[").all() and tags.str.endswith("]").all()


def check_all(c: SampleCompany, end_utc: pd.Timestamp) -> None:
    check_schema(c)
    check_keys_and_references(c)
    check_times(c, end_utc)
    check_orders(c)
    check_service(c)
    check_relations(c)
    check_loyalty(c)
    check_contacts(c)
