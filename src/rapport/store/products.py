"""Products (by SKU)."""

from __future__ import annotations

from rapport.store import schema
from rapport.store.repository import Repository

repo = Repository(schema.products, entity="product", key="sku")
