"""Downloads of the workspace's tables: every list a page shows, as CSV or Excel (XLSX), at
``/exports/<table>.csv`` and ``/exports/<table>.xlsx`` with the page's own query (filters,
sort, search) in the address.

A download is the page's table, not a copy of it: the same product function with the same
arguments (the user's :class:`~rapport.access.CustomerScope`, the page's filters and sort),
the same masking for an analyst, the same columns with the same headings in the user's
language, enumeration codes as their labels. It is the whole filtered list, not the page on
screen: a paged list is read page after page by its keyset cursor, at most
:data:`rapport.reports.tables.ROW_LIMIT` rows; a longer list ends with a row saying so. The
files themselves (byte-order mark, formula neutralisation, number cells, the file name
header) are :mod:`rapport.reports.tables`'.

Each page offers the links (:func:`rapport.web.exports.export_links` in
``export_links.html``); each table is declared once in :data:`TABLES` with the roles its
page allows and its reader (:mod:`rapport.web.export_tables`, a module per kind of
page). A download naming customers with their personal data unmasked is audited as the
export it is (``export`` of ``customers`` or ``tickets``, route ``web.export.<table>``,
the format, the count and the first 500 ids), written when the file has been written (a
download broken off: the rows read by then, once the abandoned stream is closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from rapport.access import ADMINISTRATORS, Principal
from rapport.domain import AuditAction, Role
from rapport.errors import NotFound, StoreUnavailable, ValidationFailed
from rapport.i18n.errors import error_text
from rapport.reports.tables import (
    MEDIA_TYPES,
    ROW_LIMIT,
    content_disposition,
    csv_chunks,
    file_name,
    xlsx_file,
)
from rapport.store import audit
from rapport.web import render
from rapport.web.auth import VIA, RoleRefused, WebUser, client_address, writing
from rapport.web.export_tables import Exported, Reader, people, work
from rapport.web.export_tables import admin as admin_tables
from rapport.web.export_tables import analyses as analysed
from rapport.web.export_tables import customers as customer_lists
from rapport.web.export_tables import snapshot as snapshot_tables
from rapport.web.exports import FORMATS
from rapport.web.views import alerts as alerts_view
from rapport.web.views import analysis as analysis_view
from rapport.web.views import data as data_view
from rapport.web.views import diamonds as diamonds_view
from rapport.web.views import overview as overview_view
from rapport.web.views import playbooks as playbooks_view
from rapport.web.views import service as service_view
from rapport.web.views import worklist as worklist_view
from rapport.web.views import worklist_tasks

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Table:
    """One exportable table: its title (the file and sheet name), the roles of its page,
    and what reads it."""

    title_key: str
    roles: frozenset[Role]
    #: ``(request, user, fmt, limit) -> Exported``; the rows are lazy and may hold one row
    #: more than ``limit`` (the sign that the list was cut).
    read: Reader
    #: The audit log's entity of the rows and the key of their ids; ``None`` for a table of
    #: figures about groups, which names nobody and is not audited (as its page is not).
    entity: str | None = None
    id_key: str | None = None


def _naming(
    title_key: str, roles: Iterable[Role], read: Reader, *, id_key: str = "customer_id"
) -> Table:
    """A table naming customers (audited when unmasked), their ids under ``id_key``."""
    return Table(title_key, frozenset(roles), read, entity="customers", id_key=id_key)


def _figures(title_key: str, roles: Iterable[Role], read: Reader) -> Table:
    """A table of figures about groups or of staff, never audited."""
    return Table(title_key, frozenset(roles), read)


_ANALYSIS = analysis_view.ALLOWED
_OVERVIEW = overview_view.ALLOWED

#: Every exportable table, by the name in its address.
TABLES: dict[str, Table] = {
    "customers": _naming("nav.customers", Role, customer_lists.read_customers, id_key="id"),
    "timeline": _naming("card.timeline", Role, customer_lists.read_timeline),
    "card-scores": _naming("exports.card_scores", Role, customer_lists.read_card_scores),
    "loyalty-ledger": _naming("exports.loyalty_ledger", Role, customer_lists.read_loyalty_ledger),
    "vouchers": _naming("card_loyalty.vouchers", Role, customer_lists.read_vouchers),
    "diamonds": _naming("nav.diamonds", diamonds_view.ROLES, people.read_diamonds),
    "diamond-movers": _naming("diamonds.moves", diamonds_view.ROLES, people.read_diamond_movers),
    "birthdays": _naming(
        "worklist.birthdays", worklist_view.ROLES, people.worklist_reader("birthdays")
    ),
    "not-contacted": _naming(
        "exports.not_contacted", worklist_view.ROLES, people.worklist_reader("quiet")
    ),
    "at-risk": _naming("exports.at_risk_list", worklist_view.ROLES, people.read_at_risk),
    "worklist-diamonds": _naming(
        "worklist.diamonds", worklist_view.ROLES, people.read_worklist_diamonds
    ),
    "service": Table(
        "nav.service",
        frozenset(service_view.PAGE_ROLES),
        people.read_service,
        entity="tickets",
        id_key="id",
    ),
    "tasks": _naming("exports.tasks", worklist_tasks.ROLES, work.read_tasks),
    "alerts": _naming("alerts_web.title", alerts_view.ROLES, work.read_alerts),
    "ticket-history": Table(
        "exports.ticket_history",
        frozenset(service_view.PAGE_ROLES),
        work.read_ticket_history,
        entity="tickets",
        id_key="ticket_id",
    ),
    "import-jobs": _figures("data.history", data_view.PAGE_ROLES, admin_tables.read_import_jobs),
    "import-preview": _figures(
        "exports.import_preview", data_view.PAGE_ROLES, admin_tables.read_import_preview
    ),
    "rules": _figures("admin.rules", ADMINISTRATORS, admin_tables.read_rules),
    "users": _figures("exports.users", ADMINISTRATORS, people.read_staff),
    "tokens": _figures("admin.tokens", ADMINISTRATORS, people.read_tokens),
    "groups": _figures("nav.analysis", _ANALYSIS, snapshot_tables.read_groups),
    "movements": _figures("analysis.moves", _ANALYSIS, snapshot_tables.read_movements),
    "rfm-grid": _figures("analysis.rfm_grid", _ANALYSIS, snapshot_tables.read_rfm_grid),
    "clv": _figures("analysis.clv", _ANALYSIS, snapshot_tables.read_clv_bins),
    "correlations": _figures("analysis.correlations", _ANALYSIS, snapshot_tables.read_correlations),
    "degrees-history": _figures(
        "overview.degrees_trend", _OVERVIEW, snapshot_tables.read_degrees_history
    ),
    "value-at-risk": _figures("overview.var", _OVERVIEW, snapshot_tables.read_value_at_risk),
    "headline": _figures("exports.headline", _OVERVIEW, analysed.read_headline),
    "trends": _figures("exports.trends", _OVERVIEW, analysed.read_trends),
    "explorer": _figures("exports.explorer", _ANALYSIS, analysed.read_explorer),
    "cohorts": _figures("analysis.cohorts", _ANALYSIS, analysed.read_cohorts),
    "chain": _figures("exports.chain", _ANALYSIS, analysed.read_chain),
    "clusters": _figures("analysis.clusters", _ANALYSIS, analysed.read_clusters),
    "cluster-demographics": _figures("exports.demographics", _ANALYSIS, analysed.read_demographics),
    "cluster-scores": _figures("exports.cluster_scores", _ANALYSIS, analysed.read_cluster_scores),
    "accuracy": _figures("analysis.accuracy", _ANALYSIS, analysed.read_accuracy),
    "playbooks": _figures("nav.playbooks", playbooks_view.ROLES, analysed.read_playbooks),
}


# --- the download --------------------------------------------------------------------------


@router.get("/exports/{table}.{fmt_name}")
def download(request: Request, table: str, fmt_name: str, user: WebUser) -> Response:
    found = TABLES.get(table)
    if found is None or fmt_name not in FORMATS:
        return render.page(request, "not_found.html", status=404)
    if user.role not in found.roles:
        raise RoleRefused()
    fmt = render.formatter(request)
    try:
        exported = found.read(request, user, fmt, ROW_LIMIT)
    except NotFound:
        return render.page(request, "not_found.html", status=404)
    except (ValidationFailed, StoreUnavailable) as exc:  # too much asked, or workers busy
        status = 422 if isinstance(exc, ValidationFailed) else 503
        reason = error_text(exc, fmt.locale)
        return render.page(request, "export_failed.html", {"reason": reason}, status=status)
    zone = request.app.state.settings.tz
    title = fmt.t(found.title_key)
    name = file_name(title, dt.datetime.now(zone).date(), fmt_name)
    notice = fmt.t("exports.cut", count=fmt.number(ROW_LIMIT))
    audited = _audited(request, user, found, table, fmt_name, exported)
    if fmt_name == "csv":
        body: Iterator[Any] = csv_chunks(
            exported.columns, audited, zone=zone, notice=notice, limit=ROW_LIMIT
        )
    else:
        file = xlsx_file(
            exported.columns, audited, zone=zone, notice=notice, sheet=title, limit=ROW_LIMIT
        )
        body = _file_chunks(file)
    response = StreamingResponse(
        body,
        media_type=MEDIA_TYPES[fmt_name],
        headers={"Content-Disposition": content_disposition(name)},
    )
    return render.with_cookie(request, response)


def _file_chunks(file: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()


def _audited(
    request: Request, user: Principal, table: Table, name: str, fmt_name: str, exported: Exported
) -> Iterator[Mapping[str, Any]]:
    """The rows of ``exported``; once they are read to the end (or the stream is closed
    early), an ``export`` entry of the ids read, unless the rows were masked or name
    nobody."""
    ids: dict[int, None] = {}  # in the order sent, each once (a timeline's rows share one)
    read = 0
    cut = False
    try:
        for row in exported.rows:
            if read >= ROW_LIMIT:
                cut = True
            elif table.id_key is not None and row[table.id_key] is not None:
                ids[row[table.id_key]] = None  # a company-wide alert names nobody
            read += 1
            yield row
    finally:
        if table.entity is not None and not exported.masked and ids:
            _record(request, user, table.entity, name, fmt_name, list(ids), cut)


def _record(
    request: Request,
    user: Principal,
    entity: str,
    name: str,
    fmt_name: str,
    ids: list[int],
    cut: bool,
) -> None:
    detail: dict[str, Any] = {
        "via": VIA,
        "route": f"web.export.{name}",
        "format": fmt_name,
        "count": len(ids),
        "ids": ids[:500],
    }
    if cut:
        detail["cut"] = True

    def write(session: Session) -> None:
        audit.record(
            session=session,
            actor=user.actor,
            actor_user_id=user.user_id,
            action=AuditAction.EXPORT,
            entity=entity,
            entity_id=None,
            detail=detail,
            client_address=client_address(request),
        )

    writing(request, write)


__all__ = ["TABLES", "router"]
