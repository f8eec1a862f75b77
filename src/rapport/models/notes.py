"""What a fit or a backtest left out, and why, as data the adapters render."""

from __future__ import annotations

from typing import Literal

from rapport.errors import RapportError


class Note(str):
    """``"churn model not fitted: <the error>"``: the English text (kept in JSON output and
    logs), with the ``part`` left out, ``what`` was not done and the domain ``error`` that
    says why, for an adapter to say the same in its language."""

    part: str
    what: Literal["fitted", "tested"]
    error: RapportError

    def __new__(cls, part: str, what: Literal["fitted", "tested"], error: RapportError) -> Note:
        note = super().__new__(cls, f"{part} model not {what}: {error}")
        note.part, note.what, note.error = part, what, error
        return note


__all__ = ["Note"]
