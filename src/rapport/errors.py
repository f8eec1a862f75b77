"""The error hierarchy of Rapport.

Errors are raised in the core and translated only at the edges: an HTTP status in
``api/``, an exit code and a one-line message in ``cli/``. Every error says what was wrong,
where (table and field, or file, row and column) and, where it can, what to do.

The message is English (the API's ``message``, logs). An error a person meets at the
command line also carries a ``key`` and its ``params``: the message and the hint are then
English templates filled with ``params``, and :mod:`rapport.i18n.errors` holds the Chinese
templates of the same keys, which the CLI shows under ``locale = "zh_CN"``.
"""

from __future__ import annotations

from typing import Any


class RapportError(Exception):
    """Base class of every error Rapport raises on purpose.

    Parameters
    ----------
    message
        One sentence a user can act on.
    table, field, value
        Where the problem is, when it concerns stored data.
    hint
        What to do about it.
    key
        The id of the message in :mod:`rapport.i18n.errors` (the hint's is ``key + ".hint"``,
        or ``hint_key``); with a key, ``message`` and ``hint`` are templates
        (:meth:`str.format`) filled with ``params``.
    params
        The values the templates name.
    hint_key
        The id of the hint when it is shared with other errors.
    """

    exit_code: int = 1

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        field: str | None = None,
        value: Any = None,
        hint: str | None = None,
        key: str | None = None,
        params: dict[str, Any] | None = None,
        hint_key: str | None = None,
    ) -> None:
        self.key = key
        self.params = dict(params or {})
        self.hint_key = hint_key or (f"{key}.hint" if key and hint else None)
        if key is not None:
            message = message.format(**self.params)
            hint = hint.format(**self.params) if hint is not None else None
        super().__init__(message)
        self.message = message
        self.table = table
        self.field = field
        self.value = value
        self.hint = hint

    @property
    def location(self) -> str | None:
        """``table.field`` (or whichever part is known)."""
        if self.table and self.field:
            return f"{self.table}.{self.field}"
        return self.table or self.field

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text} — {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the error."""
        out: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        for key in ("table", "field", "hint"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.value is not None:
            out["value"] = str(self.value)
        return out


class ConfigError(RapportError):
    """The configuration (environment or TOML file) is invalid."""

    exit_code = 3


#: What to do about a store that does not exist or was never initialised.
STORE_INIT_HINT = "run `rapport init` to create it, or `rapport demo` for a sample company"


class StoreUnavailable(RapportError):
    """The database cannot be reached or is not initialised."""

    exit_code = 4

    @classmethod
    def missing(cls, where: str) -> StoreUnavailable:
        """No store at ``where`` (a SQLite file that does not exist)."""
        return cls(
            "no store at {where}",
            hint=STORE_INIT_HINT,
            key="store_missing",
            params={"where": where},
            hint_key="store_init",
        )

    @classmethod
    def not_initialised(cls, where: str) -> StoreUnavailable:
        """The store ``where`` exists but has no schema (an empty file or database)."""
        return cls(
            "the store {where} is not initialised",
            hint=STORE_INIT_HINT,
            key="store_not_initialised",
            params={"where": where},
            hint_key="store_init",
        )


class NotFound(RapportError):
    """A referenced record does not exist."""

    exit_code = 5


class Forbidden(RapportError):
    """The caller's role or scope may not do this (HTTP 403)."""

    exit_code = 12


class Conflict(RapportError):
    """The write conflicts with existing data (duplicate key, illegal state change)."""

    exit_code = 6


class ValidationFailed(RapportError):
    """A value breaks a rule of the schema (enum, range, required field)."""

    exit_code = 7


class NotFitted(RapportError):
    """A model was used before it was fitted."""

    exit_code = 8


class UnsupportedBackend(RapportError):
    """The requested engine or database cannot do this."""

    exit_code = 9


class FitFailed(RapportError):
    """A model's fit did not converge to a valid optimum; the message says what was tried."""

    exit_code = 11
