"""The audit log: who did what to which record, when and from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rapport.domain import AuditAction
from rapport.store import schema
from rapport.store.repository import Repository, Row, utcnow

repo = Repository(schema.audit_log, entity="audit entry", key=None)


def record(
    *,
    session: Session,
    actor: str,
    action: AuditAction,
    entity: str,
    entity_id: str | int | None = None,
    actor_user_id: int | None = None,
    detail: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> Row:
    return repo.create(
        session=session,
        values={
            "occurred_at": utcnow(),
            "actor": actor,
            "actor_user_id": actor_user_id,
            "action": action,
            "entity": entity,
            "entity_id": None if entity_id is None else str(entity_id),
            "detail": detail,
            "client_address": client_address,
        },
    )
