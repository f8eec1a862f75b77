"""The rows an import may touch: the row-level scope of whoever runs it.

``rapport import`` on the command line runs with the store's own rights (no scope). An
import job submitted through the API runs with the uploader's scope, built by the API from
the same rule as every route (``rapport.api.deps.CustomerScope``): a manager's customers
file creates customers and updates those in their scope, but cannot change — or take over
by ``owner_username`` — a customer of another team, and an orders file cannot attach
orders to customers outside the scope. A row that would is rejected like one naming an
unknown record.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from rapport.store import schema


@dataclass(frozen=True)
class ImportScope:
    """SQL conditions of a row-level scope (``None``: no limit).

    Attributes
    ----------
    customers
        Condition on ``customers``: the customers in scope.
    owners
        Condition on ``users``: whom a customer or lead may be given to (``owner_username``).
    leads
        Condition on ``leads``: the leads in scope.
    """

    customers: sa.ColumnElement[bool] | None = None
    owners: sa.ColumnElement[bool] | None = None
    leads: sa.ColumnElement[bool] | None = None

    def _customer_ids(self) -> sa.Select:
        c = schema.customers
        return sa.select(c.c.id).where(self.customers).correlate(None)  # type: ignore[arg-type]

    def rows(self, table: sa.Table) -> sa.ColumnElement[bool] | None:
        """The rows of ``table`` in scope: those an import may update or refer to."""
        if table is schema.customers:
            return self.customers
        if table is schema.leads:
            return self.leads
        if self.customers is None:
            return None
        if table is schema.order_items:
            orders = schema.orders
            in_scope = sa.select(orders.c.id).where(self.rows(orders)).correlate(None)  # type: ignore[arg-type]
            return table.c.order_id.in_(in_scope)
        if table is schema.referrals:
            referred = table.c.referred_customer_id
            return sa.and_(
                table.c.referrer_customer_id.in_(self._customer_ids()),
                sa.or_(referred.is_(None), referred.in_(self._customer_ids())),
            )
        if "customer_id" in table.c:
            return table.c.customer_id.in_(self._customer_ids())
        return None

    def reference(self, table: sa.Table, field: str) -> sa.ColumnElement[bool] | None:
        """The rows of ``table`` that the import field ``field`` may name."""
        if table is schema.users:
            return self.owners if field == "owner_username" else None
        return self.rows(table)


#: The scope of the command line and of admins: everything.
UNLIMITED = ImportScope()
