"""Survey links: a signed, expiring, single-use link per customer and survey.

Staff create a link (``POST /survey-links``) and send its ``url`` by e-mail or SMS. The
link's secret is 32 random bytes (URL-safe base64); only its SHA-256 is stored, so the
store alone cannot rebuild a link. The customer opens it without logging in:
``GET /public/surveys/{token}`` shows the question kind and its scale — nothing personal —
and ``POST`` records the answer as a survey response of that customer and uses the link up.
The link's rules live in :mod:`rapport.store.survey_links`, which the web's survey page
calls too. A browser opening the link (``Accept`` preferring ``text/html`` to JSON) is sent
on to that page (``/s/{token}``, the route named ``survey_page``) when the server has the
web workspace.

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
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import NoMatchFound

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
from rapport.domain import AuditAction, Role
from rapport.errors import ValidationFailed
from rapport.store import campaigns, schema, survey_links
from rapport.store.survey_links import LinkState, SurveyLink

router = APIRouter(tags=["survey links"])

PUBLIC_PATH = "/public/surveys"
#: The name of the web's survey page route, where a browser opening a link is sent.
WEB_PAGE = "survey_page"

Token = Annotated[
    str,
    Path(
        min_length=survey_links.TOKEN_MIN_LENGTH,
        max_length=survey_links.TOKEN_MAX_LENGTH,
        pattern=survey_links.TOKEN_PATTERN,
        description="The secret.",
    ),
]
_GONE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown or forged link"},
    410: {"model": ErrorBody, "description": "The link was used, or has expired"},
    422: {"model": ErrorBody, "description": "A value breaks a rule; names the field path"},
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
            raise campaigns.repo.not_found(body.campaign_id, field="campaign_id")
    link = survey_links.create(
        session=session,
        customer_id=customer["id"],
        kind=body.kind,
        valid_days=body.valid_days,
        now=_now(),
        campaign_id=body.campaign_id,
        context=body.context,
    )
    auditor.record(AuditAction.CREATE, "survey_links", link.id, {"customer_id": customer["id"]})
    url = str(request.url_for("survey_question", token=link.token))
    return SurveyLinkPublic(
        id=link.id,
        customer_id=customer["id"],
        kind=body.kind,
        url=url,
        expires_at=link.expires_at,
    )


_ANSWERED = "this survey was answered already — thank you"


def _link(session: Session, token: str, *, now: dt.datetime) -> SurveyLink:
    """The live link of ``token``: 404 when unknown, 410 when used or expired."""
    link = survey_links.find(session=session, token=token, now=now)
    if link is None:
        raise ApiError(404, "not_found", "no such survey link", field="path.token")
    if link.state is LinkState.USED:
        raise ApiError(410, "gone", _ANSWERED)
    if link.state is LinkState.EXPIRED:
        raise ApiError(410, "gone", "this survey link has expired")
    return link


def _quality(accept: str, media_type: str) -> float:
    """The quality ``accept`` (an ``Accept`` header) gives ``media_type``: its own entry,
    else its type's ``type/*``, else ``*/*``; 0 when none names it."""
    found: dict[str, float] = {}
    for part in accept.split(","):
        name, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        found.setdefault(name.lower(), quality)
    major = media_type.split("/")[0]
    for candidate in (media_type, f"{major}/*", "*/*"):
        if candidate in found:
            return found[candidate]
    return 0.0


def wants_html(request: Request) -> bool:
    """Whether the request prefers a page to JSON (a browser opening the link): ``Accept``
    rates ``text/html`` above ``application/json``. ``*/*`` alone, or no header, is JSON."""
    accept = request.headers.get("accept", "")
    return _quality(accept, "text/html") > _quality(accept, "application/json")


def browsers_to_the_page(request: Request) -> None:
    """A browser opening a link goes to the web's survey page (303), whatever the secret
    looks like: the page answers a malformed one with its own not-found page, where the
    JSON route would answer 422. A dependency, so that it runs before the path is
    validated; without the web workspace (no route ``survey_page``) nothing happens."""
    if not wants_html(request):
        return
    token = quote(str(request.path_params.get("token", "")), safe="")
    try:
        target = request.url_for(WEB_PAGE, token=token).path
    except NoMatchFound:
        return
    raise StarletteHTTPException(303, "see the survey page", headers={"Location": target})


@router.get(
    f"{PUBLIC_PATH}/{{token}}",
    response_model=SurveyQuestion,
    responses={**_GONE, 303: {"description": "A browser: to the survey page /s/{token}"}},
    name="survey_question",
    dependencies=[Depends(browsers_to_the_page)],
)
def survey_question(token: Token, session: SessionDep) -> SurveyQuestion:
    """The question of a survey link (no log-in): its kind and scale, nothing personal. A
    browser (``Accept`` preferring ``text/html``) is sent to the survey page (303)."""
    link = _link(session, token, now=_now())
    low, high = link.scale
    return SurveyQuestion(kind=link.kind, scale_min=low, scale_max=high, expires_at=link.expires_at)


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
    try:
        # single use, even for two answers at once: only one finds the link unused
        recorded = survey_links.answer(
            session=session, link=link, score=body.score, comment=body.comment, now=now
        )
    except ValidationFailed as exc:
        low, high = exc.params["low"], exc.params["high"]
        raise ApiError(
            422,
            "validation_failed",
            f"body.score: must be from {low} to {high} for {link.kind.value}",
            field="body.score",
            value=body.score,
        ) from exc
    if not recorded:
        raise ApiError(410, "gone", _ANSWERED)
    return SurveyAnswerRecorded(kind=link.kind, score=body.score)
