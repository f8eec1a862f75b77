"""The customer 360 card of the API: the pieces live in :mod:`rapport.customer360`, below
the adapters, so that the API and the web workspace read the card through the same
functions."""

from __future__ import annotations

from rapport.customer360 import customer_timeline, latest_scores, programme_tier, timeline_sql

__all__ = ["customer_timeline", "latest_scores", "programme_tier", "timeline_sql"]
