"""设置 Admin → *Rules*: the business rules in force (:func:`rapport.config.load_rules`,
from the rules file or the defaults), each value as data in the reader's language; for
administrators, as the rest of the page (:mod:`rapport.web.views.admin`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import BaseModel

from rapport.config import Rules, rules_file
from rapport.i18n.locale import pick
from rapport.store.loyalty import TIER_NAMES
from rapport.web import render
from rapport.web.i18n import Formatter
from rapport.web.views.admin import AdminUser, section_page

router = APIRouter(include_in_schema=False)


#: The sections of the rules page: a path of :class:`rapport.config.Rules`.
RULE_SECTIONS = (
    "business",
    "activity",
    "sla",
    "loyalty",
    "scores.tiers",
    "scores.rfm",
    "scores.lifecycle",
    "scores.relationship_index",
    "scores.satisfaction",
    "scores.loyalty",
    "scores.engagement",
    "scores.advocacy",
    "scores.depth",
    "models",
    "costs",
)


#: Rules that are shares or probabilities, shown as percentages.
PERCENTS = ("gross_margin", "revenue_top_share", "growth_share", "discount_rate", "churn_risk")


@dataclass
class RuleTable:
    """A list of rules (tiers, segments …) or a map by an enumeration, as a table."""

    key: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class RuleSection:
    key: str
    anchor: str
    values: list[tuple[str, str]]  # (label, shown value)
    tables: list[RuleTable]


def _shown(value: Any, path: str, fmt: Formatter) -> str:
    """One rule's value in the page's language."""
    if isinstance(value, bool):
        return fmt.t("admin.yes" if value else "admin.no")
    if isinstance(value, StrEnum):
        return fmt.enum(value)
    if isinstance(value, int | float):
        if path.endswith(PERCENTS):
            return fmt.percent(value, 0 if float(value * 100).is_integer() else 1)
        digits = 0 if float(value).is_integer() else min(4, len(repr(float(value)).split(".")[1]))
        return fmt.number(value, digits)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return fmt.t("rules_page.range", low=value[0], high=value[1])
    if isinstance(value, list | tuple):
        sep = "、" if fmt.locale == "zh_CN" else ", "
        return (
            Markup(sep).join(_shown(v, path, fmt) for v in value) if value else fmt.t("admin.none")
        )
    if isinstance(value, str):
        if path.endswith(("lapsed_segment", "segments.id")):
            return fmt.segment(value)
        if path.endswith("tiers.code"):
            names = TIER_NAMES.get(value)
            return pick(names, fmt.locale) if names else value
        shown = fmt.label_or(f"rules.literal.{value}", value)
        if shown == value:  # no literal of the rules: the business's own text, shown as data
            return Markup('<span class="data">{}</span>').format(value)
        return shown
    return str(value)


def _walk(model: BaseModel, path: str, fmt: Formatter, section: RuleSection) -> None:
    for name in type(model).model_fields:
        value = getattr(model, name)
        here = f"{path}.{name}"
        if isinstance(value, BaseModel):
            _walk(value, here, fmt, section)
        elif isinstance(value, dict):
            section.tables.append(
                RuleTable(
                    key=f"rules.{here}",
                    columns=["rules_page.key", "rules_page.value"],
                    rows=[[_shown(k, here, fmt), _shown(v, here, fmt)] for k, v in value.items()],
                )
            )
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            fields = list(type(value[0]).model_fields)
            section.tables.append(
                RuleTable(
                    key=f"rules.{here}",
                    columns=[f"rules.{here}.{f}" for f in fields],
                    rows=[
                        [_shown(getattr(r, f), f"{here}.{f}", fmt) for f in fields] for r in value
                    ],
                )
            )
        else:
            section.values.append((f"rules.{here}", _shown(value, here, fmt)))


def rule_sections(rules: Rules, fmt: Formatter) -> list[RuleSection]:
    """The rules in force as readable sections: each value with its label, each list or
    map of rules as a table."""
    out = []
    for path in RULE_SECTIONS:
        model: Any = rules
        for part in path.split("."):
            model = getattr(model, part)
        section = RuleSection(
            key=f"rules.{path}", anchor=path.replace(".", "-"), values=[], tables=[]
        )
        _walk(model, path, fmt, section)
        out.append(section)
    return out


@router.get("/admin/rules")
def rules_page(request: Request, user: AdminUser) -> Response:
    fmt = render.formatter(request)
    source = rules_file(render.settings_of(request))
    context = {
        "rule_sections": rule_sections(request.app.state.rules, fmt),
        "source": str(source) if source else None,
    }
    return section_page(request, "rules", "admin_rules.html", context)
