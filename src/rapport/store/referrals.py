"""Referrals: a customer brings a lead or a customer."""

from __future__ import annotations

from rapport.store import schema
from rapport.store.repository import Repository

repo = Repository(schema.referrals, entity="referral")
