"""Survey links: a signed, expiring, single-use link per customer and survey.

Staff create a link (``POST /survey-links``) and send its ``url`` by e-mail or SMS. The
link's secret is 32 random bytes (URL-safe base64); only its SHA-256 is stored, so the
store alone cannot rebuild a link. The customer opens it without logging in:
``GET /public/surveys/{token}`` shows the question kind and its scale — nothing personal —
and ``POST`` records the answer as a survey response of that customer and uses the link up.

=========================  ===========================================================
answer                     when
=========================  ===========================================================
404                        unknown or forged token
410                        the link was used already, or has expired
422                        a score outside the kind's scale (the body names ``body.score``)
=========================  ===========================================================

Creating a link: admin, manager, sales (for customers in their scope; otherwise 404),
API tokens with ``surveys:write``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session

from rapport.api.audit import AuditorDep
from rapport.api.deps import CustomerScopeDep, SessionDep, require_role, require_scope
from rapport.api.errors import COMMON_RESPONSES, NOT_FOUND_RESPONSE, ApiError, ErrorBody
from rapport.api.schemas.survey_links import (
    SurveyAnswer,
    SurveyAnswerRecorded,
    SurveyLinkCreate,
    SurveyLinkPublic,
    SurveyQuestion,
)
from rapport.domain import SURVEY_SCALES, AuditAction, Role, SurveyKind
from rapport.errors import NotFound
from rapport.store import schema, surveys
from rapport.store.db import rowcount

router = APIRouter(tags=["survey links"])

CHANNEL = "survey_link"
PUBLIC_PATH = "/public/surveys"

_l = schema.survey_links.c
Token = Annotated[
    str,
    Path(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$", description="The secret."),
]
_GONE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown or forged link"},
    410: {"model": ErrorBody, "description": "The link was used, or has expired"},
    422: {"model": ErrorBody, "description": "A value breaks a rule; names the field path"},
}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@router.post(
    "/survey-links",
    response_model=SurveyLinkPublic,
    status_code=201,
    dependencies=[
        Depends(require_scope("surveys:write")),
        Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES)),
    ],
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def create_survey_link(
    body: SurveyLinkCreate,
    request: Request,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
) -> SurveyLinkPublic:
    """A single-use link for one customer to answer one survey; the ``url`` is shown only
    in this answer."""
    customer = scope.get(session=session, id=body.customer_id)
    if body.campaign_id is not None:
        found = session.execute(
            sa.select(schema.campaigns.c.id).where(schema.campaigns.c.id == body.campaign_id)
        ).first()
        if found is None:
            raise NotFound(
                f"no campaign with id {body.campaign_id}",
                table="campaigns",
                field="campaign_id",
                value=body.campaign_id,
            )
    token = secrets.token_urlsafe(32)
    now = _now()
    expires_at = now + dt.timedelta(days=body.valid_days)
    link_id = session.execute(
        sa.insert(schema.survey_links)
        .values(
            token_hash=hash_token(token),
            customer_id=customer["id"],
            kind=body.kind,
            campaign_id=body.campaign_id,
            context=body.context,
            created_at=now,
            expires_at=expires_at,
        )
        .returning(_l.id)
    ).scalar_one()
    auditor.record(AuditAction.CREATE, "survey_links", link_id, {"customer_id": customer["id"]})
    url = str(request.url_for("survey_question", token=token))
    return SurveyLinkPublic(
        id=link_id, customer_id=customer["id"], kind=body.kind, url=url, expires_at=expires_at
    )


def _link(session: Session, token: str, *, now: dt.datetime) -> dict[str, Any]:
    """The live link of ``token``: 404 when unknown, 410 when used or expired."""
    row = (
        session.execute(sa.select(schema.survey_links).where(_l.token_hash == hash_token(token)))
        .mappings()
        .first()
    )
    if row is None:
        raise ApiError(404, "not_found", "no such survey link", field="path.token")
    if row["used_at"] is not None:
        raise ApiError(410, "gone", "this survey was answered already — thank you")
    if _utc(row["expires_at"]) <= now:
        raise ApiError(410, "gone", "this survey link has expired")
    return dict(row)


@router.get(
    f"{PUBLIC_PATH}/{{token}}",
    response_model=SurveyQuestion,
    responses=_GONE,
    name="survey_question",
)
def survey_question(token: Token, session: SessionDep) -> SurveyQuestion:
    """The question of a survey link (no log-in): its kind and scale, nothing personal."""
    link = _link(session, token, now=_now())
    low, high = SURVEY_SCALES[SurveyKind(link["kind"])]
    return SurveyQuestion(
        kind=link["kind"], scale_min=low, scale_max=high, expires_at=_utc(link["expires_at"])
    )


@router.post(
    f"{PUBLIC_PATH}/{{token}}",
    response_model=SurveyAnswerRecorded,
    status_code=201,
    responses=_GONE,
)
def answer_survey(token: Token, body: SurveyAnswer, session: SessionDep) -> SurveyAnswerRecorded:
    """Answer the survey of a link (no log-in); the link is then used up."""
    now = _now()
    link = _link(session, token, now=now)
    kind = SurveyKind(link["kind"])
    low, high = SURVEY_SCALES[kind]
    if not low <= body.score <= high:
        raise ApiError(
            422,
            "validation_failed",
            f"body.score: must be from {low:g} to {high:g} for {kind.value}",
            field="body.score",
            value=body.score,
        )
    # single use, even for two answers at once: only one update finds the link unused
    used = session.execute(
        sa.update(schema.survey_links)
        .where(_l.id == link["id"], _l.used_at.is_(None), _l.expires_at > now)
        .values(used_at=now)
    )
    if rowcount(used) != 1:
        raise ApiError(410, "gone", "this survey was answered already — thank you")
    surveys.repo.create(
        session=session,
        values={
            "customer_id": link["customer_id"],
            "kind": kind,
            "score": body.score,
            "scale_min": low,
            "scale_max": high,
            "comment": body.comment,
            "channel": CHANNEL,
            "responded_at": now,
            "campaign_id": link["campaign_id"],
        },
    )
    return SurveyAnswerRecorded(kind=kind, score=body.score)
