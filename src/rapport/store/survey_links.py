"""Survey links: a signed, expiring, single-use link per customer and survey question.

Staff create a link (:func:`create`) and send it by e-mail or SMS; the customer opens it
without logging in and answers once (:func:`answer`). This module is the one home of the
link's rules, which the API's public routes (``/api/v1/public/surveys/{token}``, JSON) and
the web's survey page (``/s/{token}``, HTML) both call:

* the link's secret is 32 random bytes (URL-safe base64, 43 characters); only its SHA-256
  is stored, so the store alone cannot rebuild a link, and a forged secret finds nothing;
* a link is :attr:`LinkState.LIVE` until it is answered (:attr:`~LinkState.USED`) or its
  time runs out (:attr:`~LinkState.EXPIRED`);
* an answer's score must lie within the scale of the link's survey kind
  (:data:`rapport.domain.SURVEY_SCALES`); it is stored as a survey response of the link's
  customer (channel ``survey_link``, the scale with it), and the link is used up in the
  same transaction — by one conditional update, so that two answers sent at once record
  one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import SURVEY_SCALES, SurveyKind
from rapport.errors import ValidationFailed
from rapport.store import schema, surveys
from rapport.store.db import rowcount

#: The channel of the survey responses a link records.
CHANNEL = "survey_link"
#: The characters of a link's secret (URL-safe base64) and its length bounds.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]+$"
TOKEN_MIN_LENGTH = 16
TOKEN_MAX_LENGTH = 128
#: The most characters of an answer's comment.
COMMENT_MAX_LENGTH = 2000

_l = schema.survey_links.c


class LinkState(StrEnum):
    LIVE = "live"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class SurveyLink:
    """A stored link, as the public side may know it: which question, until when, and its
    state at the time it was read (nothing about the customer but the id, which is never
    shown)."""

    id: int
    customer_id: int
    kind: SurveyKind
    campaign_id: int | None
    expires_at: dt.datetime
    state: LinkState

    @property
    def scale(self) -> tuple[float, float]:
        """The lowest and highest score of the link's question."""
        return SURVEY_SCALES[self.kind]


@dataclass(frozen=True)
class NewLink:
    """A link just created: ``token`` is the secret to send (it is not stored)."""

    id: int
    token: str
    expires_at: dt.datetime


def hash_token(token: str) -> str:
    """The stored form of a link's secret (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def create(
    *,
    session: Session,
    customer_id: int,
    kind: SurveyKind,
    valid_days: int,
    now: dt.datetime,
    campaign_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> NewLink:
    """Store a new link for ``customer_id`` to answer the ``kind`` question, valid for
    ``valid_days`` from ``now``; the caller checks the customer and campaign exist."""
    token = secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(days=valid_days)
    link_id = session.execute(
        sa.insert(schema.survey_links)
        .values(
            token_hash=hash_token(token),
            customer_id=customer_id,
            kind=kind,
            campaign_id=campaign_id,
            context=context,
            created_at=now,
            expires_at=expires_at,
        )
        .returning(_l.id)
    ).scalar_one()
    return NewLink(id=link_id, token=token, expires_at=expires_at)


def find(*, session: Session, token: str, now: dt.datetime) -> SurveyLink | None:
    """The link of the secret ``token`` and its state at ``now``; ``None`` when no link has
    that secret (unknown or forged)."""
    row = (
        session.execute(
            sa.select(
                _l.id, _l.customer_id, _l.kind, _l.campaign_id, _l.expires_at, _l.used_at
            ).where(_l.token_hash == hash_token(token))
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    expires_at = _utc(row["expires_at"])
    if row["used_at"] is not None:
        state = LinkState.USED
    elif expires_at <= now:
        state = LinkState.EXPIRED
    else:
        state = LinkState.LIVE
    return SurveyLink(
        id=row["id"],
        customer_id=row["customer_id"],
        kind=SurveyKind(row["kind"]),
        campaign_id=row["campaign_id"],
        expires_at=expires_at,
        state=state,
    )


def check_score(kind: SurveyKind, score: float) -> None:
    """:class:`ValidationFailed` (field ``score``) unless ``score`` lies within the scale of
    ``kind``; its params ``low`` and ``high`` are the bounds as written (``0``, ``10``)."""
    low, high = SURVEY_SCALES[kind]
    if not low <= score <= high:
        raise ValidationFailed(
            "the score must be from {low} to {high}",
            table="survey_responses",
            field="score",
            value=score,
            key="survey_score_range",
            params={"low": f"{low:g}", "high": f"{high:g}"},
        )


def answer(
    *,
    session: Session,
    link: SurveyLink,
    score: float,
    comment: str | None,
    now: dt.datetime,
) -> bool:
    """Record ``score`` (and ``comment``) as the answer to the live ``link`` and use the
    link up. :class:`ValidationFailed` when the score is outside the question's scale;
    ``False``, recording nothing, when the link was used or expired meanwhile."""
    check_score(link.kind, score)
    used = session.execute(
        sa.update(schema.survey_links)
        .where(_l.id == link.id, _l.used_at.is_(None), _l.expires_at > now)
        .values(used_at=now)
    )
    if rowcount(used) != 1:
        return False
    low, high = link.scale
    surveys.repo.create(
        session=session,
        values={
            "customer_id": link.customer_id,
            "kind": link.kind,
            "score": score,
            "scale_min": low,
            "scale_max": high,
            "comment": comment,
            "channel": CHANNEL,
            "responded_at": now,
            "campaign_id": link.campaign_id,
        },
    )
    return True
