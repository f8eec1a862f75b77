"""Bodies of the rewards catalogue and of vouchers (docs/loyalty.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from rapport.api.schemas.common import Text
from rapport.domain import RewardKind


class RewardPublic(BaseModel):
    code: str
    name_zh: str
    name_en: str
    kind: RewardKind
    points: int = Field(description="The price in points.")
    stock: int | None = Field(description="Vouchers left; null: unlimited.")
    active: bool = Field(description="Offered (false: kept in the catalogue only).")


class RewardWrite(BaseModel):
    """A reward of the catalogue, created or replaced by its code."""

    model_config = ConfigDict(extra="forbid")

    name_zh: Annotated[str, Text(128, 1)]
    name_en: Annotated[str, Text(128, 1)]
    kind: RewardKind
    points: int = Field(ge=1, le=10_000_000, description="The price in points.")
    stock: int | None = Field(default=None, ge=0, description="Null: unlimited.")
    active: bool = True


class RedeemReward(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward: Annotated[str, Text(32, 1)] = Field(description="The reward's code.")


class VoucherPublic(BaseModel):
    code: str = Field(description="The voucher's code, shown to the customer.")
    reward: str = Field(description="The reward's code.")
    customer_id: int
    points: int = Field(description="What it cost.")
    issued_at: dt.datetime
    used_at: dt.datetime | None
    balance: int | None = Field(default=None, description="The balance after a redemption.")
