"""docs/data-model.md describes exactly the tables, columns, keys and indexes of the schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from rapport.store.schema import metadata
from rapport.store.types import UTCDateTime, is_json

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"
TABLES = [t.name for t in metadata.sorted_tables]

_ENTITY = re.compile(r"^ {4}(\w+) \{\n(.*?)^ {4}\}", re.M | re.S)
_ATTRIBUTE = re.compile(
    r"^\s*(?P<type>\S+)\s+(?P<name>\w+)"
    r"(?:\s+(?P<keys>(?:PK|FK|UK)(?:\s*,\s*(?:PK|FK|UK))*))?"
    r'(?:\s+"(?P<comment>[^"]*)")?\s*$'
)
_RELATION = re.compile(r'^\s*(\w+) (\|\||\|o)--o\{ (\w+) : "(\w+)"\s*$', re.M)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def diagram(doc: str) -> str:
    blocks = re.findall(r"```mermaid\n(.*?)```", doc, re.S)
    assert len(blocks) == 1, "expected one mermaid block"
    assert blocks[0].startswith("erDiagram")
    return blocks[0]


@pytest.fixture(scope="module")
def entities(diagram: str) -> dict[str, dict[str, re.Match[str]]]:
    out: dict[str, dict[str, re.Match[str]]] = {}
    for name, body in _ENTITY.findall(diagram):
        attributes = {}
        for line in body.strip().splitlines():
            m = _ATTRIBUTE.match(line)
            assert m, f"unparsable attribute in {name}: {line!r}"
            attributes[m["name"]] = m
        out[name] = attributes
    return out


@pytest.fixture(scope="module")
def sections(doc: str) -> dict[str, str]:
    tables_part = doc.split("\n## Tables\n", 1)[1]
    parts = re.split(r"^### `(\w+)`\s*$", tables_part, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def expected_type(column: sa.Column) -> str:
    ctype = column.type
    if isinstance(ctype, sa.Enum | sa.String) and not isinstance(ctype, sa.Text):
        return f"varchar({ctype.length})"
    if is_json(ctype):
        return "json"
    for kind, token in (
        (UTCDateTime, "timestamptz"),
        (sa.Text, "text"),
        (sa.Boolean, "boolean"),
        (sa.Float, "float"),
        (sa.Numeric, "money"),
        (sa.SmallInteger, "smallint"),
        (sa.Integer, "integer"),
        (sa.Date, "date"),
    ):
        if isinstance(ctype, kind):
            return token
    raise AssertionError(f"no documented type for {column}")


def test_every_table_and_column_name_appears_in_the_doc(doc: str) -> None:
    for table in metadata.sorted_tables:
        assert f"`{table.name}`" in doc, table.name
        for column in table.c:
            assert column.name in doc, f"{table.name}.{column.name}"


def test_the_diagram_has_every_table_with_exactly_its_columns(entities: dict) -> None:
    assert set(entities) == set(TABLES)
    for table in metadata.sorted_tables:
        assert set(entities[table.name]) == set(table.c.keys()), table.name


@pytest.mark.parametrize("table_name", TABLES)
def test_the_diagram_shows_types_and_keys(entities: dict, table_name: str) -> None:
    table = metadata.tables[table_name]
    for column in table.c:
        attribute = entities[table_name][column.name]
        where = f"{table_name}.{column.name}"
        assert attribute["type"] == expected_type(column), where
        keys = {k.strip() for k in (attribute["keys"] or "").split(",") if k.strip()}
        assert ("PK" in keys) == column.primary_key, where
        assert ("FK" in keys) == bool(column.foreign_keys), where
        assert ("UK" in keys) == bool(column.unique), where
        comment = attribute["comment"] or ""
        assert ("enum" in comment) == isinstance(column.type, sa.Enum), where
        required = not column.nullable and not column.primary_key
        assert ("not null" in comment) == required, where


def test_the_diagram_draws_every_foreign_key(diagram: str) -> None:
    drawn = {
        (parent, child, column): cardinality
        for parent, cardinality, child, column in _RELATION.findall(diagram)
    }
    expected = {
        (fk.column.table.name, table.name, fk.parent.name): "|o" if fk.parent.nullable else "||"
        for table in metadata.sorted_tables
        for fk in table.foreign_keys
    }
    assert drawn == expected


def test_every_table_has_a_section(sections: dict[str, str]) -> None:
    assert set(sections) == set(TABLES)


@pytest.mark.parametrize("table_name", TABLES)
def test_each_section_names_its_columns_and_indexes(
    sections: dict[str, str], table_name: str
) -> None:
    table = metadata.tables[table_name]
    text = sections[table_name]
    for column in table.c:
        if column.name == "id":  # the surrogate key, described once under Conventions
            continue
        assert f"`{column.name}`" in text, f"{table_name}.{column.name}"
    for index in table.indexes:
        if index.name and not index.unique:
            assert f"`{index.name}`" in text, index.name
    assert "Index" in text or "index" in text
