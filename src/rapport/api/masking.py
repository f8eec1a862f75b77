"""Masking of personal data for the analyst role: the functions live in
:mod:`rapport.masking`, below the adapters, so that the API and the web workspace mask
the same way."""

from __future__ import annotations

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
]
