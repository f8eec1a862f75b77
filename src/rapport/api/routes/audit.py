"""``/audit``: read the audit log (admins only).

=============  ======  ==========
route          roles   scope
=============  ======  ==========
GET /audit     admin   audit:read
=============  ======  ==========

Entries come newest first, one page at a time: a page's ``next_cursor`` names its last
(oldest) entry and the next page continues with the entries written before it, so entries
written meanwhile never shift a page. Filters combine with AND: ``actor`` (a user name, also
through the user's API tokens), ``actor_user_id``, ``customer_id`` (entries about that
customer: on its record, on records naming it, reads listing it), ``action``, ``entity``,
``since`` (inclusive) and ``until`` (exclusive), times with a zone.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator

from rapport.access import ADMINISTRATORS
from rapport.api.deps import SessionDep, require_role, require_scope
from rapport.api.errors import COMMON_RESPONSES, ApiError
from rapport.api.pagination import PageDep
from rapport.api.schemas.audit import AuditEntriesPublic, AuditEntryPublic
from rapport.api.schemas.common import MAX_INT32, Time, check_text
from rapport.domain import AuditAction
from rapport.store import audit, schema
from rapport.store.paging import SortKey

router = APIRouter(prefix="/audit", tags=["audit"])

READ = [Depends(require_scope("audit:read")), Depends(require_role(*ADMINISTRATORS))]
#: The log's order: newest first (:func:`rapport.store.audit.list_entries`).
ORDER = [SortKey(schema.audit_log.c.id, descending=True)]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_INT32)]
#: Text no store refuses (no NUL, no unpaired surrogate: 422 instead of a database error).
TextFilter = Annotated[str, AfterValidator(check_text)]


@router.get("", response_model=AuditEntriesPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_audit_entries(
    session: SessionDep,
    page: PageDep,
    actor: Annotated[TextFilter | None, Query(min_length=1, max_length=128)] = None,
    actor_user_id: IdFilter = None,
    customer_id: IdFilter = None,
    action: Annotated[AuditAction | None, Query()] = None,
    entity: Annotated[TextFilter | None, Query(min_length=1, max_length=64)] = None,
    since: Annotated[Time | None, Query(description="Inclusive, with a zone.")] = None,
    until: Annotated[Time | None, Query(description="Exclusive, with a zone.")] = None,
) -> AuditEntriesPublic:
    """The audit log, newest first, filtered; one page at a time (follow ``next_cursor``)."""
    if since is not None and until is not None and since >= until:
        raise ApiError(
            422,
            "validation_failed",
            "query.until: must be after since",
            field="query.until",
            value=until.isoformat(),
        )
    (before_id,) = page.start(ORDER) or (None,)
    rows, count = audit.list_entries(
        session=session,
        limit=page.fetch,
        before_id=before_id,
        actor=actor,
        actor_user_id=actor_user_id,
        customer_id=customer_id,
        action=action,
        entity=entity,
        since=since,
        until=until,
    )
    shown = page.cut(rows, count=count)
    return AuditEntriesPublic(
        data=[AuditEntryPublic.model_validate(r) for r in shown.data],
        count=shown.count,
        next_cursor=shown.next_cursor,
    )
