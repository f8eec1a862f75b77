"""The page 行动手册 Playbooks (``/playbooks``, for admin, manager and analyst): every
playbook with whether it runs, its trigger and actions, its enrolments, what it did on the
latest day the daily pipeline ran it, and its measured effect — treated against held out,
the rates, the uplift with its 95 % interval, the incremental revenue with its interval, the
cost and the net return.

The rows are :func:`rapport.actions.playbook_registry.overview` (what ``rapport playbooks
list`` prints), the effect :func:`rapport.actions.effect_report.effect_in_session` (``rapport
playbooks effect``, ``GET /api/v1/playbooks/{code}/effect``) and the latest day's figures the
summary the daily pipeline recorded for its ``playbooks`` step
(:func:`rapport.store.pipeline_runs.runs`). The page computes none of them. It names no
customer: nothing is audited, and an analyst sees what the others see.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rapport.access import Principal
from rapport.actions.effect_report import effect_in_session
from rapport.actions.playbook_registry import overview
from rapport.domain import Role
from rapport.i18n.locale import pick
from rapport.i18n.playbooks import text as playbook_text
from rapport.store import pipeline_runs
from rapport.web import render
from rapport.web.auth import roles
from rapport.web.nav import NavEntry

ROLES = (Role.ADMIN, Role.MANAGER, Role.ANALYST)
router = APIRouter(include_in_schema=False)
NAV = NavEntry(path="/playbooks", key="nav.playbooks", order=65, roles=frozenset(ROLES))
Staff = Annotated[Principal, Depends(roles(*ROLES))]
#: The pipeline's step whose summary holds the playbooks' figures of a day.
STEP = "playbooks"
#: The figures of a day shown per playbook, in order (keys of the engine's figures).
DAY_FIGURES = ("triggered", "eligible", "treated", "held_out", "tasks", "messages")


def latest_run(session: Any) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The latest day the pipeline's playbooks step finished, and its figures by playbook
    code (``None`` and nothing when it never did)."""
    done = [
        r
        for r in pipeline_runs.runs(session=session)
        if r.step == STEP and getattr(r.status, "value", r.status) == "done" and r.summary
    ]
    if not done:
        return None, {}
    last = done[-1]
    figures = {
        f["code"]: f for f in (last.summary or {}).get("playbooks", []) if isinstance(f, dict)
    }
    return last.run_date, figures


def playbook_rows(request: Request, locale: str) -> tuple[Any, list[dict[str, Any]]]:
    """The latest day the pipeline ran the playbooks, and every playbook as the page lists
    it: :func:`~rapport.actions.playbook_registry.overview`'s row with its ``name`` in
    ``locale``, that ``day``'s figures (or None) and its measured ``effect`` (or None)."""
    rules = request.app.state.rules
    with request.app.state.sessions() as session:
        rows = overview(session=session, rules=rules)
        effects = {e.code: e for e in effect_in_session(session=session)}
        day, figures = latest_run(session)
    shown = []
    for row in rows:
        effect = effects.get(row["code"])
        shown.append(
            {
                **row,
                "name": pick((row["name_zh"], row["name_en"]), locale),
                "day": figures.get(row["code"]),
                "effect": effect.effect if effect is not None else None,
            }
        )
    return day, shown


@router.get("/playbooks")
def playbooks_page(request: Request, user: Staff) -> Response:
    fmt = render.formatter(request)
    day, shown = playbook_rows(request, fmt.locale)
    context = {
        "rows": shown,
        "run_day": day,
        "day_figures": DAY_FIGURES,
        "pt": lambda key, **values: playbook_text(key, fmt.locale, **values),
    }
    return render.page(request, "playbooks.html", context)
