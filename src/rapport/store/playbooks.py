"""Stored playbooks and their versions (tables ``playbooks`` and ``playbook_versions``).

A playbook's current definition is in ``playbooks``; every definition it has had is a row of
``playbook_versions``. :func:`save` writes a new version only when the definition changes,
so syncing the same rules file every day writes nothing. The definitions are checked by
:mod:`rapport.actions.playbooks` before they get here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import PlaybookSource
from rapport.errors import NotFound
from rapport.store import schema

_p = schema.playbooks
_v = schema.playbook_versions


def _canonical(definition: Mapping[str, Any]) -> str:
    return json.dumps(definition, sort_keys=True, ensure_ascii=False, default=str)


def list_all(*, session: Session) -> list[dict[str, Any]]:
    """Every stored playbook, by code."""
    return [dict(r) for r in session.execute(sa.select(_p).order_by(_p.c.code)).mappings()]


def get(*, session: Session, code: str) -> dict[str, Any]:
    """The stored playbook ``code``; :class:`NotFound` when there is none."""
    row = session.execute(sa.select(_p).where(_p.c.code == code)).mappings().first()
    if row is None:
        raise NotFound(
            "no playbook with code {code!r}",
            table="playbooks",
            field="code",
            value=code,
            hint="list the playbooks with `rapport playbooks list` (GET /playbooks)",
            key="playbook_missing",
            params={"code": code},
        )
    return dict(row)


def versions(*, session: Session, playbook_id: int) -> list[dict[str, Any]]:
    """Every version of a playbook, newest first."""
    stmt = sa.select(_v).where(_v.c.playbook_id == playbook_id).order_by(_v.c.version.desc())
    return [dict(r) for r in session.execute(stmt).mappings()]


def definition_of(*, session: Session, playbook_id: int, version: int) -> dict[str, Any] | None:
    """The definition a playbook had at ``version`` (None if that version is unknown)."""
    stmt = sa.select(_v.c.definition).where(
        _v.c.playbook_id == playbook_id, _v.c.version == version
    )
    value = session.execute(stmt).scalar_one_or_none()
    return None if value is None else dict(value)


def save(
    *,
    session: Session,
    code: str,
    definition: Mapping[str, Any],
    source: PlaybookSource,
    enabled: bool,
    actor: str,
    at: dt.datetime,
) -> tuple[dict[str, Any], str | None]:
    """Store ``definition`` as playbook ``code``'s current one.

    Returns
    -------
    (row, change)
        The stored row, and ``"created"``, ``"updated"`` (a new version, or only ``enabled``
        or ``source`` changed) or ``None`` when nothing changed.
    """
    current = session.execute(sa.select(_p).where(_p.c.code == code)).mappings().first()
    body = dict(definition)
    if current is None:
        pid = session.execute(
            sa.insert(_p)
            .values(
                code=code,
                version=1,
                enabled=enabled,
                source=PlaybookSource(source).value,
                definition=body,
                created_at=at,
                updated_at=at,
                updated_by=actor,
            )
            .returning(_p.c.id)
        ).scalar_one()
        session.execute(
            sa.insert(_v).values(
                playbook_id=pid, version=1, definition=body, created_at=at, created_by=actor
            )
        )
        return get(session=session, code=code), "created"
    values: dict[str, Any] = {}
    if _canonical(current["definition"]) != _canonical(body):
        version = current["version"] + 1
        values |= {"version": version, "definition": body}
        session.execute(
            sa.insert(_v).values(
                playbook_id=current["id"],
                version=version,
                definition=body,
                created_at=at,
                created_by=actor,
            )
        )
    if current["enabled"] != enabled:
        values["enabled"] = enabled
    if current["source"] != PlaybookSource(source).value:
        values["source"] = PlaybookSource(source).value
    if not values:
        return dict(current), None
    session.execute(
        sa.update(_p)
        .where(_p.c.id == current["id"])
        .values(**values, updated_at=at, updated_by=actor)
    )
    return get(session=session, code=code), "updated"


def set_enabled(
    *, session: Session, code: str, enabled: bool, actor: str, at: dt.datetime
) -> tuple[dict[str, Any], bool]:
    """Switch playbook ``code`` on or off; returns the row and whether it changed."""
    row = get(session=session, code=code)
    if row["enabled"] == enabled:
        return row, False
    session.execute(
        sa.update(_p)
        .where(_p.c.id == row["id"])
        .values(enabled=enabled, updated_at=at, updated_by=actor)
    )
    return get(session=session, code=code), True
