"""``/users``: staff accounts, administered by administrators.

==============================  ======  ===========
route                           roles   scope
==============================  ======  ===========
PUT /users/{id}/password        admin   users:write
==============================  ======  ===========

Setting a password applies the password policy (:func:`rapport.store.users.check_password`:
422 naming ``password`` and why). Audited as an ``update`` of the user with the field
``password`` — never the password itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from rapport.access import ADMINISTRATORS
from rapport.api.audit import AuditorDep
from rapport.api.deps import SessionDep, require_role, require_scope
from rapport.api.errors import COMMON_RESPONSES, NOT_FOUND_RESPONSE
from rapport.api.schemas.users import PasswordSet
from rapport.domain import AuditAction
from rapport.store import users

router = APIRouter(prefix="/users", tags=["users"])

ENTITY = "users"
UserId = Annotated[int, Path(ge=1, description="The user's id.")]
ADMIN_WRITE = [Depends(require_scope("users:write")), Depends(require_role(*ADMINISTRATORS))]


@router.put(
    "/{user_id}/password",
    status_code=204,
    dependencies=ADMIN_WRITE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
    response_class=Response,
)
def set_password(
    user_id: UserId, body: PasswordSet, session: SessionDep, auditor: AuditorDep
) -> Response:
    """Set or reset a user's password (204). A weak password is refused with 422 naming
    the field ``password``, the reason and what to choose instead."""
    users.set_password(session=session, user_id=user_id, password=body.password)
    auditor.wrote(AuditAction.UPDATE, ENTITY, user_id, ["password"])
    return Response(status_code=204)
