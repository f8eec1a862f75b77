"""The playbooks in the store: synced from the rules, read, changed through the API.

:func:`sync_playbooks` writes the rules' playbooks (:func:`rapport.actions.playbooks.
configured_playbooks`) into ``playbooks``: a new version (and a ``playbook_versions`` row)
only when a definition changes, an audit entry for each change. A playbook changed or
switched through the API (:func:`put_playbook`, :func:`set_enabled`) is marked ``api`` and
from then on belongs to the API: the rules file no longer changes it. A rules playbook that
is no longer in the rules file is switched off (its enrolments stay measured).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from rapport.actions.playbooks import Playbook, configured_playbooks, parse_playbook
from rapport.config import Rules
from rapport.domain import AuditAction, PlaybookSource
from rapport.store import audit
from rapport.store import playbooks as store

SYSTEM = "system"


def _audit(session: Session, actor: str, change: str, row: dict[str, Any], **extra: Any) -> None:
    user_id = extra.pop("actor_user_id", None)
    address = extra.pop("client_address", None)
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.CREATE if change == "created" else AuditAction.UPDATE,
        entity="playbooks",
        entity_id=row["code"],
        detail={"version": row["version"], "enabled": row["enabled"], **extra},
        actor_user_id=user_id,
        client_address=address,
    )


def sync_playbooks(*, session: Session, rules: Rules, at: dt.datetime, actor: str = SYSTEM) -> int:
    """Bring the stored playbooks to the rules; returns how many changed."""
    changed = 0
    stored = {row["code"]: row for row in store.list_all(session=session)}
    configured = configured_playbooks(rules)
    for playbook, source in configured:
        row = stored.get(playbook.code)
        if row is not None and row["source"] == PlaybookSource.API.value:
            continue
        saved, change = store.save(
            session=session,
            code=playbook.code,
            definition=playbook.definition,
            source=PlaybookSource(source),
            enabled=playbook.enabled,
            actor=actor,
            at=at,
        )
        if change:
            changed += 1
            _audit(session, actor, change, saved, source=source)
    codes = {p.code for p, _ in configured}
    for code, row in stored.items():
        if code not in codes and row["source"] != PlaybookSource.API.value and row["enabled"]:
            saved, _ = store.set_enabled(
                session=session, code=code, enabled=False, actor=actor, at=at
            )
            changed += 1
            _audit(session, actor, "updated", saved, removed_from_rules=True)
    return changed


def stored_playbook(row: dict[str, Any]) -> Playbook:
    """The :class:`Playbook` of a stored row (its ``enabled`` column included)."""
    return parse_playbook({**row["definition"], "code": row["code"], "enabled": row["enabled"]})


def enabled_playbooks(*, session: Session) -> list[tuple[dict[str, Any], Playbook]]:
    """The stored, enabled playbooks with their rows, in priority order (then code)."""
    out = [(row, stored_playbook(row)) for row in store.list_all(session=session) if row["enabled"]]
    return sorted(out, key=lambda pair: (pair[1].priority, pair[1].code))


def put_playbook(
    *,
    session: Session,
    code: str,
    definition: dict[str, Any],
    actor: str,
    at: dt.datetime,
    actor_user_id: int | None = None,
    client_address: str | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Create or change playbook ``code`` from the API (checked, versioned, audited).

    Raises
    ------
    ValidationFailed
        When the definition is invalid (naming the field).
    """
    playbook = parse_playbook({**definition, "code": code})
    saved, change = store.save(
        session=session,
        code=code,
        definition=playbook.definition,
        source=PlaybookSource.API,
        enabled=playbook.enabled,
        actor=actor,
        at=at,
    )
    if change:
        _audit(
            session,
            actor,
            change,
            saved,
            source="api",
            actor_user_id=actor_user_id,
            client_address=client_address,
        )
    return saved, change


def set_enabled(
    *,
    session: Session,
    code: str,
    enabled: bool,
    actor: str,
    at: dt.datetime,
    actor_user_id: int | None = None,
    client_address: str | None = None,
) -> dict[str, Any]:
    """Switch playbook ``code`` on or off from the API (audited; the API owns it from now)."""
    row = store.get(session=session, code=code)
    saved, change = store.save(
        session=session,
        code=code,
        definition=row["definition"],
        source=PlaybookSource.API,
        enabled=enabled,
        actor=actor,
        at=at,
    )
    if change:
        _audit(
            session,
            actor,
            "updated",
            saved,
            source="api",
            actor_user_id=actor_user_id,
            client_address=client_address,
        )
    return saved


def _summary(code: str, definition: dict[str, Any]) -> dict[str, Any]:
    trigger = definition.get("trigger", {})
    detail = trigger.get("field") or trigger.get("score") or trigger.get("event")
    detail = detail or trigger.get("date") or trigger.get("every") or ""
    return {
        "code": code,
        "name_zh": definition.get("name_zh", code),
        "name_en": definition.get("name_en", code),
        "priority": definition.get("priority"),
        "trigger": f"{trigger.get('kind')}:{detail}" if detail else trigger.get("kind"),
        "actions": ", ".join(a["kind"] for a in definition.get("actions", [])),
        "outcome": "{kind} / {window_days}d".format(**definition.get("outcome", {})),
    }


def overview(*, session: Session, rules: Rules) -> list[dict[str, Any]]:
    """Every playbook: the stored ones, and those of the rules not stored yet (``version``
    null: the next run stores them), with enrolments by arm; by priority, then code."""
    from rapport.store import enrolments

    rows = {row["code"]: row for row in store.list_all(session=session)}
    out = []
    for code, row in rows.items():
        counts = enrolments.counts(session=session, playbook_id=row["id"])
        out.append(
            _summary(code, row["definition"])
            | {
                "enabled": row["enabled"],
                "source": row["source"],
                "version": row["version"],
                "enrolled": sum(counts.values()),
                "treated": counts.get("treated", 0),
                "held_out": counts.get("holdout", 0) + counts.get("control", 0),
            }
        )
    for playbook, source in configured_playbooks(rules):
        if playbook.code not in rows:
            out.append(
                _summary(playbook.code, playbook.definition)
                | {
                    "enabled": playbook.enabled,
                    "source": source,
                    "version": None,
                    "enrolled": 0,
                    "treated": 0,
                    "held_out": 0,
                }
            )
    return sorted(
        out, key=lambda r: (r["priority"] if r["priority"] is not None else 100, r["code"])
    )


def detail(*, session: Session, rules: Rules, code: str) -> dict[str, Any]:
    """One playbook: its current definition, whether it runs, and every version (newest
    first). A playbook of the rules not stored yet has no version.

    Raises
    ------
    NotFound
        When neither the store nor the rules have the code.
    """
    from rapport.errors import NotFound

    try:
        row = store.get(session=session, code=code)
    except NotFound:
        for playbook, source in configured_playbooks(rules):
            if playbook.code == code:
                return {
                    "code": code,
                    "enabled": playbook.enabled,
                    "source": source,
                    "version": None,
                    "definition": playbook.definition,
                    "versions": [],
                }
        raise
    return {
        "code": code,
        "enabled": row["enabled"],
        "source": row["source"],
        "version": row["version"],
        "updated_at": row["updated_at"],
        "updated_by": row["updated_by"],
        "definition": row["definition"],
        "versions": [
            {k: v[k] for k in ("version", "created_at", "created_by", "definition")}
            for v in store.versions(session=session, playbook_id=row["id"])
        ],
    }
