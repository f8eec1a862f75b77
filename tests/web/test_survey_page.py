"""The customer's survey page (``/s/{token}``): the link staff send opens a form in a
browser (the API's JSON stays for API clients), in each survey kind's question and scale,
in zh-CN and en; the answer is recorded once through the store's survey-link functions,
then a thank-you page; used, expired and forged links get their own pages; refused fields
re-render the form with the message by the field (answering, expired and forged links on
SQLite and PostgreSQL). In Chromium at 390 px, by keyboard."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from rapport.domain import SURVEY_SCALES, SurveyKind
from rapport.store import schema, survey_links
from rapport.store.db import session_scope
from rapport.web import i18n
from tests.web.conftest import PASSWORD, Watched, WebStore, csrf_of, shot, watched_page

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PUBLIC = "/api/v1/public/surveys/"
_r = schema.survey_responses.c
_l = schema.survey_links.c
_c = schema.customers.c
CJK = re.compile(r"[\u3400-\u9fff]")
#: What Chromium logs for a page answered with a refusal (the form re-rendered with 422,
#: the expired link's 410): the status, not a fault of the page.
REFUSAL = re.compile(r"status of (410|422)\b")


def _customer(store: WebStore) -> dict[str, Any]:
    """A customer with a name, a phone and an e-mail: what the page must never show."""
    rows = store.rows(
        sa.select(_c.id, _c.name, _c.phone, _c.email, _c.external_id)
        .where(_c.name.is_not(None), _c.phone.is_not(None), _c.email.is_not(None))
        .order_by(_c.id)
        .limit(1)
    )
    return rows[0]


def new_link(store: WebStore, kind: SurveyKind = SurveyKind.NPS, *, expired: bool = False) -> str:
    """A link's secret, stored as the API stores one (``expired``: its time has run out)."""
    engine = store.engine()
    now = dt.datetime.now(dt.UTC)
    try:
        with session_scope(engine, writing=True) as session:
            link = survey_links.create(
                session=session,
                customer_id=_customer(store)["id"],
                kind=kind,
                valid_days=14,
                now=now - dt.timedelta(days=15) if expired else now,
            )
    finally:
        engine.dispose()
    return link.token


def _client(server: str, lang: str = "zh_CN") -> httpx.Client:
    accept_language = {"zh_CN": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.9"}[lang]
    return httpx.Client(
        base_url=server,
        follow_redirects=False,
        timeout=30,
        headers={"Accept": BROWSER_ACCEPT, "Accept-Language": accept_language},
    )


def _responses(store: WebStore) -> int:
    return store.scalar(sa.select(sa.func.count()).select_from(schema.survey_responses))


def _text(key: str, lang: str, **values: Any) -> str:
    return html.escape(i18n.text(key, lang).format(**values), quote=False)


def _radios(page: str) -> list[str]:
    return re.findall(r'<input type="radio" name="score" id="score-[^"]+" value="([^"]+)"', page)


def _shown(page: str) -> str:
    """The page's text without its markup and without the language switch's 中文."""
    body = page.split("<body", 1)[1]
    body = re.sub(r'<button[^>]*data-lang="zh_CN"[^>]*>[^<]*</button>', "", body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


# --- opening the link -------------------------------------------------------------------


def test_the_link_staff_send_opens_the_page_in_a_browser_and_json_for_api_clients(
    server: str, web_store: WebStore
) -> None:
    api = httpx.Client(base_url=server, timeout=30)
    login = api.post(
        "/api/v1/auth/login", json={"username": "wang.fang", "password": PASSWORD}
    ).json()
    owned = web_store.rows(
        sa.select(_c.id).where(_c.owner_id == web_store.ids["sales"]).order_by(_c.id).limit(1)
    )[0]["id"]
    created = api.post(
        "/api/v1/survey-links",
        json={"customer_id": owned, "kind": "csat"},
        headers={"Authorization": f"Bearer {login['access_token']}"},
    )
    assert created.status_code == 201, created.text
    url = created.json()["url"]
    token = url.rsplit("/", 1)[1]
    assert PUBLIC in url
    browser = _client(server).get(url)
    assert browser.status_code == 303
    assert browser.headers["location"] == f"/s/{token}"
    for accept in ("application/json", "*/*", "application/json, text/html;q=0.5", None):
        headers = {"Accept": accept} if accept else {}
        question = httpx.get(url, headers=headers, timeout=30)
        assert question.status_code == 200, accept
        assert question.json()["kind"] == "csat"
    page = _client(server).get(f"/s/{token}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert _text("survey.question.csat", "zh_CN") in page.text


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("kind", list(SurveyKind))
def test_each_kind_asks_its_question_on_its_scale_in_the_language(
    server: str, web_store: WebStore, kind: SurveyKind, lang: str
) -> None:
    token = new_link(web_store, kind)
    page = _client(server, lang).get(f"/s/{token}")
    assert page.status_code == 200
    assert f'<html lang="{i18n.HTML_LANG[lang]}">' in page.text
    assert _text(f"survey.question.{kind.value}", lang) in page.text
    assert _text(f"survey.low.{kind.value}", lang) in page.text
    assert _text(f"survey.high.{kind.value}", lang) in page.text
    low, high = SURVEY_SCALES[kind]
    points = _radios(page.text)
    assert points == [f"{low + i:g}" for i in range(int(high - low) + 1)]
    for point in points:  # every radio has its label
        assert f'<label class="survey-point" for="score-{point}">' in page.text
    assert '<label for="comment">' in page.text
    assert 'name="csrf_token"' in page.text  # the language switch's, not the answer's
    form = page.text.split('class="survey-form"', 1)[1].split("</form>", 1)[0]
    assert "csrf_token" not in form
    shown = _shown(page.text)
    if lang == "en":
        assert not CJK.search(shown), CJK.findall(shown)
    else:
        assert "Send" not in shown and "Your opinion" not in shown
    customer = _customer(web_store)
    for personal in (customer["name"], customer["phone"], customer["email"]):
        assert personal not in page.text
    assert customer["external_id"] is None or customer["external_id"] not in page.text


def test_the_language_switch_on_the_page_keeps_the_choice(server: str, web_store: WebStore) -> None:
    token = new_link(web_store)
    client = _client(server, "zh_CN")
    page = client.get(f"/s/{token}")
    assert _text("survey.submit", "zh_CN") in page.text
    switched = client.post(
        "/lang", data={"lang": "en", "next": f"/s/{token}", "csrf_token": csrf_of(page.text)}
    )
    assert switched.status_code == 303 and switched.headers["location"] == f"/s/{token}"
    again = client.get(f"/s/{token}")
    assert '<html lang="en">' in again.text
    assert _text("survey.question.nps", "en") in again.text


# --- answering --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_an_answer_is_recorded_once_then_thanks_and_the_link_is_used(
    served: tuple[WebStore, str], lang: str
) -> None:
    web_store, server = served
    token = new_link(web_store, SurveyKind.PERCEIVED_VALUE)
    before = _responses(web_store)
    client = _client(server, lang)
    comment = f"送货很快 {lang} <b>"
    answer = client.post(f"/s/{token}", data={"score": "6", "comment": comment})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/s/{token}/thanks"
    thanks = client.get(answer.headers["location"])
    assert thanks.status_code == 200
    assert _text("survey.thanks_text", lang) in thanks.text
    assert _responses(web_store) == before + 1
    link = web_store.rows(
        sa.select(_l.id, _l.customer_id, _l.used_at).where(
            _l.token_hash == survey_links.hash_token(token)
        )
    )[0]
    assert link["used_at"] is not None
    row = web_store.rows(
        sa.select(
            _r.customer_id, _r.kind, _r.score, _r.scale_min, _r.scale_max, _r.comment, _r.channel
        )
        .order_by(_r.id.desc())
        .limit(1)
    )[0]
    assert row["customer_id"] == link["customer_id"]
    assert getattr(row["kind"], "value", row["kind"]) == "perceived_value"
    assert (row["score"], row["scale_min"], row["scale_max"]) == (6, 1, 7)
    assert (row["comment"], row["channel"]) == (comment, survey_links.CHANNEL)
    # used: the page, a second answer and the JSON all refuse it
    page = client.get(f"/s/{token}")
    assert page.status_code == 410
    assert _text("survey.used", lang) in page.text and "survey-form" not in page.text
    second = client.post(f"/s/{token}", data={"score": "2"})
    assert second.status_code == 410 and _text("survey.used_text", lang) in second.text
    assert httpx.get(f"{server}{PUBLIC}{token}", timeout=30).status_code == 410
    assert _responses(web_store) == before + 1


def test_an_answer_through_the_api_uses_the_page_up_too(server: str, web_store: WebStore) -> None:
    token = new_link(web_store, SurveyKind.CSAT)
    answered = httpx.post(f"{server}{PUBLIC}{token}", json={"score": 4}, timeout=30)
    assert answered.status_code == 201
    assert _client(server).get(f"/s/{token}").status_code == 410
    assert _client(server).get(f"/s/{token}/thanks").status_code == 200


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_missing_or_out_of_range_score_re_renders_the_form_keeping_what_was_typed(
    server: str, web_store: WebStore, lang: str
) -> None:
    token = new_link(web_store, SurveyKind.NPS)
    before = _responses(web_store)
    client = _client(server, lang)
    comment = "物流 & 包装 <还可以>"
    for data, message in (
        ({"comment": comment}, _text("survey.score_missing", lang)),
        ({"score": "", "comment": comment}, _text("survey.score_missing", lang)),
        ({"score": "abc", "comment": comment}, _text("survey.score_missing", lang)),
        ({"score": "11", "comment": comment}, None),
        ({"score": "-1", "comment": comment}, None),
    ):
        page = client.post(f"/s/{token}", data=data)
        assert page.status_code == 422, data
        error = re.search(r'<p class="field-error" id="score-error">([^<]+)</p>', page.text)
        assert error, data
        if message is None:  # the store's check, in the page's language
            expected = (
                "分数须在 0 到 10 之间" if lang == "zh_CN" else "The score must be from 0 to 10"
            )
            assert error.group(1) == expected
        else:
            assert error.group(1) == message
        fieldset = page.text.split('<fieldset class="survey-question"', 1)[1].split("</fieldset>")[
            0
        ]
        assert 'id="score-error"' in fieldset  # next to the field
        assert 'aria-describedby="score-scale score-error"' in page.text
        assert f">{html.escape(comment, quote=False)}</textarea>" in page.text
        assert _radios(page.text)  # the form again, not an error page
    too_long = client.post(f"/s/{token}", data={"score": "9", "comment": "好" * 2001})
    assert too_long.status_code == 422
    assert 'id="comment-error"' in too_long.text and 'id="score-error"' not in too_long.text
    assert 'value="9" checked' in too_long.text  # the chosen score kept
    assert _responses(web_store) == before
    # still live: a valid answer goes through
    assert client.post(f"/s/{token}", data={"score": "10"}).status_code == 303
    assert _responses(web_store) == before + 1


# --- links that cannot be answered --------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_an_expired_link_has_its_own_page(served: tuple[WebStore, str], lang: str) -> None:
    web_store, server = served
    token = new_link(web_store, expired=True)
    before = _responses(web_store)
    client = _client(server, lang)
    for answer in (client.get(f"/s/{token}"), client.post(f"/s/{token}", data={"score": "8"})):
        assert answer.status_code == 410
        assert answer.headers["content-type"].startswith("text/html")
        assert _text("survey.expired", lang) in answer.text
        assert _text("survey.expired_text", lang) in answer.text
        assert "survey-form" not in answer.text
    assert client.get(f"/s/{token}/thanks").status_code == 410
    assert _responses(web_store) == before


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_forged_or_malformed_link_is_not_found(served: tuple[WebStore, str], lang: str) -> None:
    web_store, server = served
    token = new_link(web_store)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    client = _client(server, lang)
    for path in (forged, "short", "x" * 200, "bad%21chars-but-long-enough"):
        for answer in (client.get(f"/s/{path}"), client.post(f"/s/{path}", data={"score": "8"})):
            assert answer.status_code == 404, path
            assert answer.headers["content-type"].startswith("text/html")
            assert _text("survey.unknown", lang) in answer.text
            assert "Traceback" not in answer.text and '"detail"' not in answer.text
        # the link as sent, opened in a browser: the page's 404, not the API's JSON 422
        sent = client.get(f"{PUBLIC}{path}")
        assert sent.status_code == 303, path
        opened = client.get(sent.headers["location"])
        assert opened.status_code == 404 and _text("survey.unknown", lang) in opened.text
    # the real link is untouched
    assert client.get(f"/s/{token}").status_code == 200


# --- in Chromium ----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_page_at_phone_width_by_keyboard(
    chromium: Any, server: str, web_store: WebStore, lang: str
) -> None:
    token = new_link(web_store, SurveyKind.NPS)
    expired = new_link(web_store, SurveyKind.CSAT, expired=True)
    before = _responses(web_store)
    suffix = "zh" if lang == "zh_CN" else "en"
    with watched_page(chromium, server) as watched:
        page = _phone(watched, lang)
        page.goto(f"{PUBLIC}{token}")  # the link as staff send it
        assert page.url.endswith(f"/s/{token}")
        assert page.get_attribute("html", "lang") == i18n.HTML_LANG[lang]
        assert page.inner_text("legend") == i18n.text("survey.question.nps", lang)
        _fits(page)
        shot(page, f"survey-form-{suffix}-390")
        # submit without a score: the message by the field, the comment kept
        page.fill("#comment", "很满意 / very good")
        page.click("#survey-submit")
        page.wait_for_selector("#score-error")
        assert page.inner_text("#score-error").endswith(i18n.text("survey.score_missing", lang))
        assert page.input_value("#comment") == "很满意 / very good"
        _fits(page)
        shot(page, f"survey-error-{suffix}-390")
        # by keyboard: Tab to the scale, arrows to 9, Tab to the comment, Enter on Send
        page.focus('button[data-lang="en"]')  # the last stop before the form
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.name") == "score"
        page.keyboard.press("Space")
        for _ in range(9):
            page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.value") == "9"
        assert page.is_checked("#score-9")
        shot(page, f"survey-chosen-{suffix}-390")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "comment"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "survey-submit"
        page.keyboard.press("Enter")
        page.wait_for_selector("#survey-thanks")
        assert page.inner_text("h1") == i18n.text("survey.thanks", lang)
        _fits(page)
        shot(page, f"survey-thanks-{suffix}-390")
        page.goto(f"/s/{expired}")
        assert page.inner_text("h1") == i18n.text("survey.expired", lang)
        shot(page, f"survey-expired-{suffix}-390")
        watched.errors[:] = [e for e in watched.errors if not REFUSAL.search(e)]
        watched.clean()
    row = web_store.rows(sa.select(_r.score, _r.comment).order_by(_r.id.desc()).limit(1))[0]
    assert (row["score"], row["comment"]) == (9, "很满意 / very good")
    assert _responses(web_store) == before + 1


@pytest.mark.browser
def test_the_language_switch_in_the_browser(
    chromium: Any, server: str, web_store: WebStore
) -> None:
    token = new_link(web_store, SurveyKind.EXPECTATION)
    with watched_page(chromium, server) as watched:
        page = _phone(watched, "zh_CN")
        page.goto(f"/s/{token}")
        assert page.inner_text("legend") == i18n.text("survey.question.expectation", "zh_CN")
        page.click('button[data-lang="en"]')
        page.wait_for_selector('html[lang="en"]')
        assert page.inner_text("legend") == i18n.text("survey.question.expectation", "en")
        assert page.url.endswith(f"/s/{token}")
        _fits(page)
        shot(page, "survey-form-expectation-en-390")
        page.set_viewport_size({"width": 1280, "height": 800})
        shot(page, "survey-form-expectation-en-1280")
        watched.clean()


def _phone(watched: Watched, lang: str) -> Any:
    """The watched page at a phone's size (390 × 844), its browser preferring ``lang``."""
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 844})
    preferred = "zh-CN,zh;q=0.9" if lang == "zh_CN" else "en-US,en;q=0.9"

    def prefer(route: Any) -> None:
        route.continue_(headers={**route.request.headers, "accept-language": preferred})

    page.route("**/*", prefer)
    return page


def _fits(page: Any) -> None:
    """Nothing wider than the phone's screen (no sideways scrolling)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
