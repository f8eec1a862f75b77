"""The audit trail of the API: every write, and every read of unmasked personal data.

Each entry says who (the user, and the API token if one was used), what (the action, the
entity and its id, a small detail document — never the personal data itself), when, and
from where (the client address). A writing request's entries are written in its own
transaction: a write and its audit entry land together or not at all. A reading request's
entries (unmasked reads) are written in a short writer's transaction of their own
(:func:`rapport.api.deps.write_apart`), so that the read never has to become a writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from rapport.api.deps import CurrentUser, Principal, SessionDep, client_address, write_apart
from rapport.domain import AuditAction
from rapport.store import audit

#: Ids listed in one read entry; a longer list is cut and the count kept.
MAX_IDS_PER_ENTRY = 500


@dataclass(frozen=True)
class Auditor:
    session: Session
    principal: Principal
    address: str | None
    request: Request | None = None

    def record(
        self,
        action: AuditAction,
        entity: str,
        entity_id: int | str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        p = self.principal
        extra = {"via": p.via, **({"token_id": p.token_id} if p.token_id else {})}

        def write(session: Session) -> None:
            audit.record(
                session=session,
                actor=p.actor,
                actor_user_id=p.user_id,
                action=action,
                entity=entity,
                entity_id=entity_id,
                detail={**extra, **(detail or {})},
                client_address=self.address,
            )

        if self.request is None:
            write(self.session)
        else:
            write_apart(self.request, self.session, write)

    def wrote(
        self,
        action: AuditAction,
        entity: str,
        entity_id: int | str,
        fields: Iterable[str] = (),
    ) -> None:
        """A write: ``fields`` names what changed (names only, never the values)."""
        names = sorted(fields)
        self.record(action, entity, entity_id, {"fields": names} if names else None)

    def updated(
        self,
        entity: str,
        entity_id: int | str,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        fields: Iterable[str],
    ) -> list[str]:
        """A change of the record ``entity_id``: the names among ``fields`` whose value
        differs from ``before`` to ``after`` (returned); nothing is recorded when none
        does."""
        changed = [k for k in fields if before.get(k) != after.get(k)]
        if changed:
            self.wrote(AuditAction.UPDATE, entity, entity_id, changed)
        return changed

    def listed(self, entity: str, rows: Iterable[Mapping[str, Any]], *, masked: bool) -> None:
        """A list route's page of the records ``rows``: a read of their personal data,
        unless the caller saw it ``masked``."""
        self.read_personal_data(entity, [r["id"] for r in rows], route="list", masked=masked)

    def read_personal_data(
        self, entity: str, ids: Iterable[int], *, route: str, masked: bool = False
    ) -> None:
        """A read that returned personal data of the records ``ids``; nothing is recorded
        when the caller saw it ``masked`` (the analyst role)."""
        ids = list(ids)
        if masked or not ids:
            return
        entity_id = ids[0] if len(ids) == 1 else None
        detail: dict[str, Any] = {"route": route, "count": len(ids)}
        if len(ids) > 1:
            detail["ids"] = ids[:MAX_IDS_PER_ENTRY]
        self.record(AuditAction.READ_PII, entity, entity_id, detail)


def get_auditor(request: Request, session: SessionDep, user: CurrentUser) -> Auditor:
    return Auditor(session, user, client_address(request), request)


AuditorDep = Annotated[Auditor, Depends(get_auditor)]
