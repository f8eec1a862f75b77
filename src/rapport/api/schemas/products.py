"""Product bodies: ``ProductCreate``, ``ProductUpdate`` (PATCH: only the fields sent),
``ProductPublic``, ``ProductsPublic`` (a page). Prices are decimals sent back as strings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from rapport.api.schemas.common import Page, Text, check_json

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Json = Annotated[dict[str, Any], AfterValidator(check_json)]


class ProductFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Annotated[str, Text(64)] | None = None
    price: Money | None = None
    extra: Json | None = None


class ProductCreate(ProductFields):
    sku: Annotated[str, Text(64, 1)] = Field(description="The stock-keeping unit (unique).")
    name: Annotated[str, Text(255, 1)]
    currency: Annotated[str, Text(3, 3)] | None = Field(
        default=None, description="ISO 4217; default: the business currency of the rules."
    )
    is_active: bool = True


class ProductUpdate(ProductFields):
    """PATCH: only the fields sent change; ``null`` clears an optional field."""

    sku: Annotated[str, Text(64, 1)] = None  # type: ignore[assignment]
    name: Annotated[str, Text(255, 1)] = None  # type: ignore[assignment]
    currency: Annotated[str, Text(3, 3)] = None  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]


class ProductPublic(BaseModel):
    id: int
    sku: str
    name: str
    category: str | None
    price: Decimal | None
    currency: str
    is_active: bool
    extra: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @field_validator("extra", mode="before")
    @classmethod
    def _documents_only(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, dict) else {"value": value}


class ProductsPublic(Page[ProductPublic]):
    """One page of the catalogue."""
