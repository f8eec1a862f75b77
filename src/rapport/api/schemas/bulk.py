"""Bodies of the bulk ingestion routes: per-item results that add up."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ItemError(BaseModel):
    """What is wrong with one item, and where."""

    field: str = Field(description="Path of the problem: items[3].occurred_at, items[7].")
    message: str


class ItemResult(BaseModel):
    """What became of one item of the batch."""

    index: int = Field(description="Position of the item in the batch (0-based).")
    line: int | None = Field(
        default=None, description="NDJSON only: the line of the item in the body (1-based)."
    )
    status: Literal["created", "duplicate", "error"]
    id: int | None = Field(
        default=None, description="The stored row (created, or the one it duplicates)."
    )
    external_id: str | None = Field(
        default=None, description="The item's key (given, or derived from its content)."
    )
    error: ItemError | None = None


class BulkResult(BaseModel):
    """``created + duplicates + failed`` is the number of items sent."""

    created: int
    duplicates: int
    failed: int
    results: list[ItemResult]
