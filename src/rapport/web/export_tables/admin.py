"""The Data page's history of import and scoring jobs and an upload's preview rows, and the
Admin page's business rules in force, as downloads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import Request
from markupsafe import Markup

from rapport.access import Principal
from rapport.domain import ImportJobStatus
from rapport.errors import NotFound
from rapport.i18n.labels import t as label
from rapport.imports import SCORING
from rapport.reports.tables import TableColumn
from rapport.web.export_tables import Exported
from rapport.web.i18n import Formatter
from rapport.web.views import data as data_view
from rapport.web.views.admin_rules import rule_sections


def read_import_jobs(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The Data page's job history (:func:`rapport.web.views.data.job_history`: a manager's
    own jobs, an admin's everyone's, newest first), every job rather than the latest 50."""
    rows, _ = data_view.job_history(request, user, limit=limit + 1)

    def entity(row: Mapping[str, Any]) -> str:
        if row["entity"] == SCORING:
            return fmt.t("data.scoring_entity")
        return label(row["entity"], fmt.locale)

    columns = [
        TableColumn("submitted_at", fmt.t("data.when"), "datetime"),
        TableColumn("submitted_by", fmt.t("data.who")),
        TableColumn("file", fmt.t("data.file")),
        TableColumn("entity", fmt.t("data.entity"), value=entity),
        TableColumn(
            "status",
            fmt.t("data.state"),
            value=lambda r: fmt.enum(ImportJobStatus(r["status"])),
        ),
        TableColumn("rows_read", fmt.t("data.count.read"), "integer"),
        TableColumn("rows_inserted", fmt.t("data.count.inserted"), "integer"),
        TableColumn("rows_updated", fmt.t("data.count.updated"), "integer"),
        TableColumn("rows_rejected", fmt.t("data.count.rejected"), "integer"),
        TableColumn("id", fmt.t("exports.job_id")),
    ]
    return Exported(columns, rows, masked=False)


def read_import_preview(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The first rows of the upload ``staged`` in the address as its preview shows them
    (:func:`rapport.web.views.data.read_preview`): the file's row number and each of its
    columns under the file's own heading. Only the user's own upload waiting for
    confirmation; any other is not found."""
    staged = request.query_params.get("staged", "")
    found = data_view.staged_upload(request, user, staged)
    if found is None:
        raise NotFound(
            "no {entity} with id {id}",
            table="import_jobs",
            field="id",
            key="record_not_found",
            params={"entity": "staged upload", "id": staged},
        )
    folder, note = found
    preview = data_view.read_preview(request, note["entity"], folder / note["file"])
    columns = [TableColumn("row", fmt.t("data.row"), "integer")] + [
        TableColumn(f"c{i}", heading) for i, heading in enumerate(preview.columns)
    ]
    rows = [
        {"row": number, **{f"c{i}": v for i, v in enumerate(values)}}
        for number, values in zip(preview.row_numbers, preview.rows, strict=True)
    ]
    return Exported(columns, rows[: limit + 1], masked=False)


def read_rules(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The Admin page's business rules in force
    (:func:`rapport.web.views.admin_rules.rule_sections`), one row a value as the page
    shows it: its section, the list it belongs to (with the list's row number) if any, its
    label and its value."""

    def plain(value: str) -> str:
        return Markup(value).striptags() if isinstance(value, Markup) else value

    def rows() -> Iterator[dict[str, Any]]:
        for section in rule_sections(request.app.state.rules, fmt):
            name = fmt.t(section.key)
            for key, value in section.values:
                yield {"section": name, "rule": fmt.t(key), "value": plain(value)}
            for table in section.tables:
                title = fmt.t(table.key)
                for number, cells in enumerate(table.rows, start=1):
                    for column, value in zip(table.columns, cells, strict=True):
                        yield {
                            "section": name,
                            "list": title,
                            "row": number,
                            "rule": fmt.t(column),
                            "value": plain(value),
                        }

    columns = [
        TableColumn("section", fmt.t("exports.rules_section")),
        TableColumn("list", fmt.t("exports.rules_list")),
        TableColumn("row", fmt.t("exports.rules_row"), "integer"),
        TableColumn("rule", fmt.t("exports.rules_rule")),
        TableColumn("value", fmt.t("rules_page.value")),
    ]
    return Exported(columns, rows(), masked=False)
