"""Who works a task or an alert, and the audit entry each such write leaves.

An :class:`Actor` is a staff user through the API or the web workspace (their
:class:`~rapport.access.Principal`: scope and role apply), or the operator at the command
line (no principal: every record, named in the audit log by ``--by`` or as ``cli``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from rapport.access import Principal
from rapport.domain import AuditAction, Role
from rapport.store import audit

#: How the audit log names the operator at the command line when no ``--by`` is given.
CLI_ACTOR = "cli"


@dataclass(frozen=True)
class Actor:
    """The one doing a write: ``principal`` for a staff user (scoped by role), ``None`` for
    the operator; ``extra`` joins every audit entry's detail (e.g. ``via``, ``token_id``)."""

    name: str
    user_id: int | None = None
    principal: Principal | None = None
    address: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def staff(cls, principal: Principal, *, address: str | None = None) -> Actor:
        """A staff user through the API or the web workspace."""
        extra: dict[str, Any] = {"via": principal.via}
        if principal.token_id:
            extra["token_id"] = principal.token_id
        return cls(principal.actor, principal.user_id, principal, address, extra)

    def may(self, allowed: frozenset[Role]) -> bool:
        """Whether the actor's role is among ``allowed`` (the operator always may)."""
        return self.principal is None or self.principal.role in allowed

    @property
    def role(self) -> str:
        """The actor's role as errors name it (``operator`` at the command line)."""
        return "operator" if self.principal is None else self.principal.role.value

    def record(
        self,
        session: Session,
        action: AuditAction,
        entity: str,
        entity_id: int,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """The audit entry of a write, in the write's own transaction."""
        audit.record(
            session=session,
            actor=self.name,
            actor_user_id=self.user_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail={**self.extra, **(detail or {})},
            client_address=self.address,
        )
