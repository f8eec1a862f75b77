"""Playbooks as data: trigger → audience → eligibility → actions → outcome.

A playbook is a plain mapping (TOML in the rules file, JSON through the API, the
``definition`` column of ``playbooks``); :func:`parse_playbook` checks it and returns a
:class:`Playbook`, or raises :class:`~rapport.errors.ValidationFailed` naming the playbook,
the field and what to write instead. docs/actions.md lists every kind with an example.

- **trigger** (``kind``): ``enter``/``leave`` a value tier, lifecycle stage or RFM segment
  between the two latest score snapshots; ``upgrade``/``downgrade`` of the value tier;
  ``score_crosses`` a threshold (``above`` or ``below``); ``score_drop`` by an amount;
  ``event`` of the day (``first_purchase``, ``complaint_opened``, ``nps_detractor``,
  ``nps_promoter``, ``ticket_closed``); ``date`` (``birthday``, ``purchase_anniversary``,
  ``no_contact``/``no_purchase`` for ``days``); ``schedule`` (once each ``month``,
  ``quarter`` or ``year``); ``points_expiring`` within ``within_days``.
- **audience**: nested ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}`` over
  ``{field, op, value}`` leaves (:data:`FIELDS`, :data:`OPS`; ``within_days`` and
  ``older_than_days`` compare a date with the run's day).
- **eligibility**: ``cooldown_days``, ``reenrol`` (``always``, ``after_cooldown``,
  ``never``), ``marketing`` (consent required even without a message; a playbook that
  sends a message always requires it),
  per-playbook ``caps``. Consent and opt-out are always honoured for messages.
- **actions** (``kind``): ``task``, ``message``, ``reward``, ``alert``, ``tag``.
- **outcome**: ``kind`` (``purchase``, ``revenue``, ``retention``, ``survey_answered``,
  ``ticket_closed``, ``referral``) over ``window_days``.

Built-in playbooks live in ``builtin_playbooks.toml`` beside this module;
:func:`configured_playbooks` overlays ``[playbooks]`` of the rules file (``disabled``,
``overrides``, ``custom``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from rapport.actions.definitions import (
    MAX_COUNT,
    OUTCOMES,
    action,
    check_filter,
    choice,
    eligibility,
    fail,
    keys,
    number,
    text,
    trigger,
)
from rapport.actions.holdout import check_share
from rapport.config import Rules

_TOP_KEYS = {
    "code",
    "name_zh",
    "name_en",
    "description_zh",
    "description_en",
    "enabled",
    "priority",
    "holdout_share",
    "prior_uplift",
    "trigger",
    "audience",
    "eligibility",
    "actions",
    "outcome",
}


@dataclass(frozen=True)
class Playbook:
    """A checked playbook; :attr:`definition` is the mapping it was read from (normalized),
    what the ``playbooks`` table stores and versions."""

    code: str
    name_zh: str
    name_en: str
    enabled: bool
    priority: int
    holdout_share: float | None
    prior_uplift: float
    trigger: dict[str, Any]
    audience: dict[str, Any] | None
    eligibility: dict[str, Any]
    actions: tuple[dict[str, Any], ...]
    outcome: dict[str, Any]
    definition: dict[str, Any] = field(repr=False)  # without ``enabled``: a column

    @property
    def sends_messages(self) -> bool:
        """Whether an action sends a message (consent is then required)."""
        return any(a["kind"] == "message" for a in self.actions)

    @property
    def needs_marketing_consent(self) -> bool:
        """Whether only marketable customers are enrolled."""
        return self.sends_messages or bool(self.eligibility.get("marketing", False))

    def name(self, locale: str) -> str:
        """The playbook's name in ``locale`` (``zh_CN`` or ``en``)."""
        return self.name_zh if locale.startswith("zh") else self.name_en


def parse_playbook(data: Any) -> Playbook:
    """Check a playbook's definition; returns the :class:`Playbook`.

    Raises
    ------
    ValidationFailed
        ``playbook <code>: <field>: <problem>`` with what to write instead.
    """
    raw_code = data.get("code") if isinstance(data, Mapping) else None
    if (
        not isinstance(raw_code, str)
        or not raw_code.replace("_", "").isalnum()
        or len(raw_code) > 64
    ):
        raise fail(
            str(raw_code),
            "code",
            f"{raw_code!r} is not a code",
            'write letters, digits and _ (at most 64), e.g. code = "vip_event"',
            raw_code,
        )
    code = raw_code
    d = keys(code, "playbook", data, _TOP_KEYS)
    text(code, "name_zh", d.get("name_zh"))
    text(code, "name_en", d.get("name_en"))
    enabled = d.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail(code, "enabled", "not true or false", "write true or false", enabled)
    share = d.get("holdout_share")
    if share is not None:
        share = check_share(share, f"playbook {code}: holdout_share")
    actions = d.get("actions")
    if not isinstance(actions, list) or not actions:
        raise fail(code, "actions", "no action", "list at least one action", actions)
    outcome = keys(code, "outcome", d.get("outcome"), {"kind", "window_days"})
    outcome["kind"] = choice(code, "outcome.kind", outcome.get("kind"), OUTCOMES)
    outcome["window_days"] = number(
        code, "outcome.window_days", outcome.get("window_days", 30), low=1, integer=True
    )
    d |= {
        "trigger": trigger(code, d.get("trigger")),
        "audience": None if d.get("audience") is None else check_filter(code, d["audience"]),
        "eligibility": eligibility(code, d.get("eligibility")),
        "actions": [action(code, i, a) for i, a in enumerate(actions)],
        "outcome": outcome,
        "enabled": enabled,
        "priority": number(code, "priority", d.get("priority", 100), high=MAX_COUNT, integer=True),
        "prior_uplift": number(code, "prior_uplift", d.get("prior_uplift", 0.01), low=-1, high=1),
    }
    if share is None:
        d.pop("holdout_share", None)
    else:
        d["holdout_share"] = share
    if d.get("audience") is None:
        d.pop("audience", None)
    d.pop("enabled")
    return Playbook(
        code=code,
        name_zh=d["name_zh"],
        name_en=d["name_en"],
        enabled=enabled,
        priority=d["priority"],
        holdout_share=share,
        prior_uplift=d["prior_uplift"],
        trigger=d["trigger"],
        audience=d.get("audience"),
        eligibility=d["eligibility"],
        actions=tuple(d["actions"]),
        outcome=outcome,
        definition=d,
    )


def builtin_definitions() -> list[dict[str, Any]]:
    """The built-in playbooks' definitions (``builtin_playbooks.toml``), in file order."""
    text = resources.files("rapport.actions").joinpath("builtin_playbooks.toml").read_text("utf-8")
    return list(tomllib.loads(text)["playbook"])


def builtin_codes() -> tuple[str, ...]:
    """The codes of the built-in playbooks."""
    return tuple(d["code"] for d in builtin_definitions())


def configured_playbooks(rules: Rules) -> list[tuple[Playbook, str]]:
    """Every playbook the rules define, with its source (``builtin`` or ``rules``).

    Built-ins are overlaid with ``[playbooks.overrides.<code>]`` and switched off by
    ``[playbooks] disabled``; ``[[playbooks.custom]]`` adds the business's own.

    Raises
    ------
    ValidationFailed
        For an invalid definition, an override or a ``disabled`` entry naming no built-in
        playbook, or a custom playbook reusing a code.
    """
    config = rules.playbooks
    builtins = {d["code"]: d for d in builtin_definitions()}
    for code in [*config.disabled, *config.overrides]:
        if code not in builtins:
            raise fail(
                code,
                "[playbooks]",
                "no built-in playbook has this code",
                f"name one of {', '.join(builtins)}",
                code,
            )
    out: list[tuple[Playbook, str]] = []
    for code, definition in builtins.items():
        merged = dict(definition) | dict(config.overrides.get(code, {}))
        if code in config.disabled:
            merged["enabled"] = False
        out.append((parse_playbook(merged), "builtin"))
    seen = set(builtins)
    for definition in config.custom:
        playbook = parse_playbook(definition)
        if playbook.code in seen:
            raise fail(
                playbook.code,
                "code",
                "another playbook has this code",
                "give each playbook its own code",
                playbook.code,
            )
        seen.add(playbook.code)
        out.append((playbook, "rules"))
    return out
