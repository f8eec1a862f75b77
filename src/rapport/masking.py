"""Masking of personal data for roles that see aggregates, not people (the analyst); the
API and the web workspace mask through these functions.

* phone ``+8613812345678`` → ``138****5678``: the national number with its first 3 and last
  4 digits kept (numbers of 7 digits or fewer keep only the last 2);
* e-mail ``zhang@example.com`` → ``z***@example.com``;
* names → the first character and ``*`` (``张伟`` → ``张*``, ``Wei Zhang`` → ``W*``);
* WeChat id → first character and ``***``; street address and postal code → ``***``;
  social handles → each handle masked; birthday and ``extra`` (free-form source columns
  that may hold anything) → removed;
* identifiers that may be personal — a customer's or a lead's ``external_id`` (often a
  phone or a member number), wherever it is shown (customer, 360, order, score lists) —
  keep at most 2 characters at each end, about a quarter of their length
  (``13812345678`` → ``13*******78``, ``M0012345`` → ``M0****45``, ``C-own`` → ``C***n``);
* a loyalty ledger entry's ``reference`` keeps its kind prefix (``order:``, ``gift:``) and
  masks the rest as an identifier (``order:SO123`` → ``order:S***3``).

City, province, country, gender, income band and the other attributes analysts group by
stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, overload

import phonenumbers

STARS = "***"


def mask_phone(phone: str | None) -> str | None:
    """``+8613812345678`` → ``138****5678`` (first 3 and last 4 digits of the national number)."""
    if not phone:
        return phone
    digits: str
    try:
        parsed = phonenumbers.parse(phone, None if phone.startswith("+") else "CN")
        digits = str(parsed.national_number)
    except phonenumbers.NumberParseException:
        digits = "".join(c for c in phone if c.isdigit())
    if not digits:
        return STARS
    if len(digits) <= 7:
        return "*" * max(len(digits) - 2, 1) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_email(email: str | None) -> str | None:
    """``zhang@example.com`` → ``z***@example.com``."""
    if not email:
        return email
    local, at, domain = email.partition("@")
    if not at:
        return (local[:1] or "") + STARS
    return f"{local[:1]}{STARS}@{domain}"


def mask_name(name: str | None) -> str | None:
    """``张伟`` → ``张*``; ``Wei Zhang`` → ``W*``."""
    if not name:
        return name
    return name.strip()[:1] + "*"


@overload
def mask_identifier(value: str) -> str: ...
@overload
def mask_identifier(value: None) -> None: ...
def mask_identifier(value: str | None) -> str | None:
    """``13812345678`` → ``13*******78``: at most 2 characters kept at each end, about a
    quarter of the length; 3 characters or fewer → all stars."""
    if not value:
        return value
    keep = min(2, len(value) // 4)
    if keep == 0:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


#: The kind prefix of a ledger reference (``order:``, ``gift:``), which stays visible.
_REFERENCE_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}:")


def mask_reference(reference: str | None) -> str | None:
    """``order:SO123`` → ``order:S***3``; without a kind prefix, the whole as an identifier."""
    if not reference:
        return reference
    match = _REFERENCE_KIND.match(reference)
    kind = match.group(0) if match else ""
    rest = reference[len(kind) :]
    return kind + (mask_identifier(rest) or "")


def _mask_short(value: str | None) -> str | None:
    if not value:
        return value
    return value[:1] + STARS


def _mask_handles(handles: Any) -> Any:
    if isinstance(handles, Mapping):
        return {k: _mask_short(v) if isinstance(v, str) else STARS for k, v in handles.items()}
    return None if handles is None else STARS


#: How each personal field of a customer is masked.
CUSTOMER_MASKS: dict[str, Callable[[Any], Any]] = {
    "external_id": mask_identifier,
    "name": mask_name,
    "phone": mask_phone,
    "email": mask_email,
    "wechat_id": _mask_short,
    "street": lambda v: v and STARS,
    "postal_code": lambda v: v and STARS,
    "social_handles": _mask_handles,
    "birthday": lambda _v: None,
    "extra": lambda _v: None,
}


def mask_customer(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a customer row with its personal fields masked."""
    out = dict(row)
    for field, mask in CUSTOMER_MASKS.items():
        if field in out:
            out[field] = mask(out[field])
    return out


def mask_ledger_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a loyalty ledger row with its ``reference`` masked."""
    out = dict(row)
    if "reference" in out:
        out["reference"] = mask_reference(out["reference"])
    return out
