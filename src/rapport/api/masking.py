"""Masking of personal data for the analyst role: the functions live in
:mod:`rapport.masking`, below the adapters, so that the API and the web workspace mask
the same way; :func:`shown` is how an answer of the API says it was masked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rapport.masking import (
    CUSTOMER_MASKS,
    STARS,
    mask_customer,
    mask_email,
    mask_identifier,
    mask_ledger_entry,
    mask_name,
    mask_phone,
    mask_reference,
)

__all__ = [
    "CUSTOMER_MASKS",
    "STARS",
    "mask_customer",
    "mask_email",
    "mask_identifier",
    "mask_ledger_entry",
    "mask_name",
    "mask_phone",
    "mask_reference",
    "shown",
]


def shown(row: Mapping[str, Any], removed: Iterable[str], *, masked: bool) -> dict[str, Any]:
    """``row`` as the caller may see it, with ``masked`` saying which way: for the analyst
    role (``masked``) the free-text fields ``removed`` (which may describe a person) are
    null."""
    return {**row, **(dict.fromkeys(removed) if masked else {}), "masked": masked}
