"""A request body's e-mail address and phone number, normalised as the importer does
(:mod:`rapport.ingest.normalize`) before a customer or a lead is written: the address
lowercased and checked, the number in E.164 (one without a country code read in
``business.default_phone_region``). A value that cannot be is a 422 naming the field."""

from __future__ import annotations

from typing import Any

from rapport.api.errors import ApiError
from rapport.config import Rules
from rapport.ingest.normalize import normalize_email, normalize_phone

#: What to do about each field that cannot be normalised.
HINTS = {"email": None, "phone": "give the number with its country code, e.g. +8613812345678"}


def normalized_contact(values: dict[str, Any], rules: Rules) -> dict[str, Any]:
    """``values`` with their ``email`` and ``phone`` normalised (422 naming the field
    otherwise); a field left out or null stays as it is."""
    region = rules.business.default_phone_region
    out = dict(values)
    for field, normalize in (
        ("email", normalize_email),
        ("phone", lambda v: normalize_phone(v, region)),
    ):
        if out.get(field) is None:
            continue
        try:
            out[field] = normalize(out[field])
        except ValueError as exc:
            raise ApiError(
                422,
                "validation_failed",
                f"body.{field}: {exc}",
                field=f"body.{field}",
                value=out[field],
                hint=HINTS[field],
            ) from exc
    return out
