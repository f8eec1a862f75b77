"""Bodies of the staff-account routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict

from rapport.api.schemas.common import Text


class PasswordSet(BaseModel):
    """A new password; the password policy applies (422 naming ``password`` when weak)."""

    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, Text(1024, 1)]
