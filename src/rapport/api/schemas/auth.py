"""Bodies of the authentication routes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.api.schemas.common import Text
from rapport.domain import Role


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Text(64, 1)]
    password: Annotated[str, Text(1024, 1)]


class TokenPublic(BaseModel):
    """A log-in token: send it as ``Authorization: Bearer <access_token>``."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
    expires_at: dt.datetime


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    email: str | None
    role: Role
    team: str | None
    is_active: bool


class MePublic(UserPublic):
    """The caller, and how they authenticated."""

    via: Literal["login", "api_token"]
    token_name: str | None = None
    scopes: list[str] | None = Field(
        default=None, description="An API token's scopes; null for a log-in (the role decides)."
    )
