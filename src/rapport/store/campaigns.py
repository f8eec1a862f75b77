"""Campaigns and their deliveries to customers (with holdout groups)."""

from __future__ import annotations

from rapport.store import schema
from rapport.store.repository import Repository

repo = Repository(schema.campaigns, entity="campaign")
deliveries_repo = Repository(schema.campaign_deliveries, entity="campaign delivery")
