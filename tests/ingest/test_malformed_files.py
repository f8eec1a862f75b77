"""Malformed import files never break an import: the CLI's answer to each is a documented exit
code, never a traceback; the report adds up; the reject file holds exactly the rejected rows,
each with its reason; and importing the same file again changes nothing.

The files come from the seeded generator in :mod:`tests.ingest.malformed`: the same files on
every run (seed :data:`SEED`); ``RAPPORT_FUZZ_SEED=<n>`` draws others and
``RAPPORT_FUZZ_FILES=<n>`` sets how many. A failure names the seed and the case, and
``python -m tests.ingest.malformed SEED DIR`` writes the files to look at.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer.main

from rapport.cli import main as cli_main
from rapport.config import get_settings
from rapport.ingest import csv_reader, readers
from rapport.ingest.importer import import_file
from rapport.ingest.report import REJECT_COLUMNS
from rapport.store import schema
from rapport.store.db import create_engine, upgrade
from tests.conftest import create_postgres_database, drop_postgres_database, postgres_url
from tests.ingest.malformed import SEEDED_CUSTOMERS, Case, generate

SEED = int(os.environ.get("RAPPORT_FUZZ_SEED") or 20240612)
COUNT = int(os.environ.get("RAPPORT_FUZZ_FILES") or 240)
CASES = generate(SEED, COUNT)
POSTGRES_CASES = CASES[::8]

#: What an import of an odd file may answer: done, columns that cannot be mapped, unreadable.
EXPECTED_EXITS = {0, 7, 10}

csv.field_size_limit(sys.maxsize)  # reject files keep huge values as they were


# --- the store and the CLI ---------------------------------------------------------------


def _seed_store(url: str, directory: Path) -> None:
    """A migrated store holding the customers the generated files refer to."""
    engine = create_engine(url)
    upgrade(engine)
    path = directory / "seed-customers.csv"
    path.write_text(
        "external_id,name\n" + "".join(f"{c},客户{c}\n" for c in SEEDED_CUSTOMERS), "utf-8"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAPPORT_DATABASE_URL", url)
        patch.setenv("RAPPORT_DATA_DIR", str(directory / "data"))
        get_settings.cache_clear()
        report = import_file("customers", path, engine=engine)
    get_settings.cache_clear()
    engine.dispose()
    assert report.inserted == len(SEEDED_CUSTOMERS), report


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> str:
    directory = tmp_path_factory.mktemp("fuzz-store")
    shutil.copy(_sqlite_template, directory / "store.db")
    url = f"sqlite:///{directory / 'store.db'}"
    _seed_store(url, directory)
    return url


@pytest.fixture(scope="module")
def postgres_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL backend not tested: RAPPORT_TEST_POSTGRES_URL is not set")
    url = create_postgres_database(base)
    _seed_store(url, tmp_path_factory.mktemp("fuzz-pg"))
    yield url
    drop_postgres_database(base, url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The fuzz store of the module on SQLite, then on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_store")


def _use_store(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    get_settings.cache_clear()


#: The Typer app as a Click command, built once: Typer builds it anew on every call (~50 ms).
_COMMAND = typer.main.get_command(cli_main.app)


def rapport(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run the ``rapport`` console script in-process (its error mapping, exit codes and
    all): exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["rapport", *args])
    monkeypatch.setattr(cli_main, "app", _COMMAND)
    code: int | str | None = 0
    try:
        cli_main.run()
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return (code if isinstance(code, int) else 0 if code is None else 1), out.out, out.err


# --- the reject file ---------------------------------------------------------------------


def reject_rows(path: Path) -> list[dict[str, object]]:
    """The data rows of a reject file (any format), as dicts."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        lines = path.read_text("utf-8").split("\n")  # (str.splitlines splits at U+2028 too)
        return [json.loads(line) for line in lines if line.strip()]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        workbook = CalamineWorkbook.from_path(str(path))
        rows = workbook.get_sheet_by_index(0).to_python()
        return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    text = path.read_text("utf-8-sig")
    last = REJECT_COLUMNS[-1]
    header_end = text.index(last) + len(last)
    delimiter = text[text.index("_reason") + len("_reason")]
    assert text[header_end] in "\r\n", f"the reject file's header ends with {last}"
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def check_rejects(report: dict, where: str) -> None:
    if report["rejected"] == 0:
        assert report["reject_file"] is None, where
        return
    path = Path(report["reject_file"])
    assert path.is_file(), where
    rows = reject_rows(path)
    assert len(rows) == report["rejected"], f"{where}: reject file has {len(rows)} rows"
    numbers = [int(str(r["_row"])) for r in rows]
    first = 1 if path.suffix == ".jsonl" else 2  # a line number, or a row under the header
    assert all(n >= first for n in numbers), f"{where}: _row {numbers}"
    assert len(set(numbers)) == len(numbers), f"{where}: a row rejected twice: {sorted(numbers)}"
    blank = [r["_row"] for r in rows if not str(r["_reason"] or "").strip()]
    assert not blank, f"{where}: rows without a reason: {blank}"


# --- the property ------------------------------------------------------------------------


def import_twice(
    case: Case,
    directory: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> dict | None:
    """Import ``case`` twice through the CLI and check both answers; the second report."""
    where = f"RAPPORT_FUZZ_SEED={SEED} case {case.name}"
    path = case.write(directory)
    code, out, err = rapport(monkeypatch, capsys, "import", case.entity, str(path), "--json")
    assert "Traceback" not in out + err, f"{where}: {err}"
    assert code in EXPECTED_EXITS, f"{where}: exit {code}: {err.strip()}"
    if code != 0:
        assert "error:" in err or "错误：" in err, f"{where}: exit {code} without a message"
        assert not list(directory.glob("*.rejects.*")), f"{where}: a reject file without import"
        again, _, err2 = rapport(monkeypatch, capsys, "import", case.entity, str(path), "--json")
        assert again == code, f"{where}: second import exit {again}: {err2.strip()}"
        return None
    first = json.loads(out)
    counted = first["inserted"] + first["updated"] + first["unchanged"] + first["rejected"]
    assert first["read"] == counted, f"{where}: {first}"
    assert first["adds_up"], where
    check_rejects(first, where)

    # the same file again: nothing changes
    code, out, err = rapport(monkeypatch, capsys, "import", case.entity, str(path), "--json")
    assert "Traceback" not in out + err, f"{where}: {err}"
    assert code == 0, f"{where}: second import exit {code}: {err.strip()}"
    second = json.loads(out)
    assert (second["inserted"], second["updated"]) == (0, 0), f"{where}: {second}"
    assert second["read"] == first["read"], f"{where}: {second}"
    assert second["rejected"] == first["rejected"], f"{where}: {second}"
    check_rejects(second, where)
    return second


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_file(
    case: Case,
    sqlite_store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _use_store(monkeypatch, sqlite_store)
    import_twice(case, tmp_path, monkeypatch, capsys)


@pytest.mark.postgres
@pytest.mark.parametrize("case", POSTGRES_CASES, ids=[c.name for c in POSTGRES_CASES])
def test_malformed_file_postgres(
    case: Case,
    postgres_store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _use_store(monkeypatch, postgres_store)
    import_twice(case, tmp_path, monkeypatch, capsys)


def test_generator_is_seeded_and_covers_the_cases() -> None:
    again = generate(SEED, 5)
    assert [(c.name, c.data) for c in again] == [(c.name, c.data) for c in CASES[:5]]
    assert len(CASES) >= 200 or "RAPPORT_FUZZ_FILES" in os.environ
    kinds = {m for c in CASES for m in c.mutations}
    wanted = {"truncate", "truncate_in_character", "unbalanced_quote", "mixed_delimiters",
              "nul", "huge", "wrong_header", "dup_column", "missing_column", "header_only",
              "binary", "xlsx_named_csv", "csv_named_xlsx", "utf-16-le", "gb18030"}  # fmt: skip
    if COUNT >= 200:
        assert wanted <= kinds, wanted - kinds
    entities = {c.entity for c in CASES}
    assert {"customers", "orders"} <= entities


# --- the cases the issue names, one by one -----------------------------------------------


def _import(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    name: str,
    data: bytes,
    entity: str = "customers",
) -> dict:
    _use_store(monkeypatch, url)
    report = import_twice(Case(0, entity, name, data, ["named"]), tmp_path, monkeypatch, capsys)
    assert report is not None
    return report


def _reasons(report: dict) -> list[str]:
    return [str(r["_reason"]) for r in reject_rows(Path(report["reject_file"]))]


def test_header_only_without_final_newline(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = _import(tmp_path, monkeypatch, capsys, store_url, "h.csv", b"external_id,name")
    assert report["read"] == 0


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "utf-16"])
def test_cut_in_a_multibyte_character_rejects_the_last_row(
    encoding: str,
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = f"external_id,name\nCUT-{encoding}-1,张三\nCUT-{encoding}-2,李四\n".encode(encoding)
    data = data.rstrip(b"\n\x00")[:-1]
    report = _import(tmp_path, monkeypatch, capsys, store_url, "cut.csv", data)
    assert (report["read"], report["unchanged"], report["rejected"]) == (2, 1, 1)
    [reason] = _reasons(report)
    assert "not" in reason and "cut off" in reason, reason


def test_cut_in_the_middle_of_a_line_or_a_quoted_value(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = b"external_id,name,city\nMID-1,a,b\nMID-2,x"
    report = _import(tmp_path, monkeypatch, capsys, store_url, "a.csv", lines)
    assert (report["read"], report["rejected"]) == (2, 1)
    assert "cut off" in _reasons(report)[0]
    quoted = b'external_id,name\nMID-3,a\nMID-4,"unfinished\nMID-5,b\n'
    report = _import(tmp_path, monkeypatch, capsys, store_url, "b.csv", quoted)
    assert (report["read"], report["rejected"]) == (2, 1)
    assert "quoted value is not closed" in _reasons(report)[0]


@pytest.mark.parametrize("where", ["key", "value", "json"])
def test_nul_characters_are_refused_as_the_api_refuses_them(
    where: str,
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = {
        "key": b"NUL-1\x00,a",
        "value": b"NUL-1,a\x00b",
        "json": b'NUL-1,"{""a"": ""x\\u0000""}"',
    }[where]
    data = b"external_id,social_handles\nNUL-0,\nNUL-2,\n" + bad + b"\n"
    report = _import(tmp_path, monkeypatch, capsys, store_url, "nul.csv", data)
    assert (report["read"], report["unchanged"]) == (3, 2 if where != "json" else 3)
    if where != "json":
        assert report["rejected"] == 1
        assert "NUL character" in _reasons(report)[0]
        return
    # a bad optional JSON value: the row is kept without it (a warning, or a reject)
    assert report["rejected"] + report.get("warnings", 0) == 1
    engine = create_engine(store_url)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(schema.customers.c.social_handles).where(
                schema.customers.c.external_id == "NUL-1"
            )
        ).scalar_one_or_none()
    engine.dispose()
    assert stored is None


def test_utf16_without_bom(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = "客户编号,姓名\nU16-1,张三\nU16-2,李四\n".encode("utf-16-le")
    report = _import(tmp_path, monkeypatch, capsys, store_url, "u.csv", data)
    assert (report["read"], report["unchanged"], report["encoding"]) == (2, 2, "utf-16-le")


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    """Blank lines are rows (skipped); a value over two lines is one row; CRLF line ends."""
    path = tmp_path / "n.csv"
    path.write_bytes(
        b'external_id,name\r\nA,1\r\n\r\n\r\nB,2,x\r\nC,3\r\n"D\r\nD",4\r\n,\r\nE,5,x\r\n'
    )
    source = readers.open_source(path)
    rows = [r for batch in source.batches(2) for r in batch.rows.to_list()]
    assert rows == [2, 6, 7]
    assert [(p.row, p.reason) for p in source.problems] == [
        (5, "row has 3 fields, the header has 2"),
        (9, "row has 3 fields, the header has 2"),
    ]


def test_a_row_longer_than_the_block_is_read_again_with_a_larger_block(
    sqlite_store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The 50 MB field in small: rows before it are not read twice, rows after it are read."""
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 1 << 10)
    rows = [f"LONG-{n},name {n},{'x' * (20_000 if n == 70 else 5)}" for n in range(150)]
    rows[90] = "LONG-90,only two"  # a bad row after the long one, reported once
    data = ("external_id,name,note\n" + "\n".join(rows) + "\n").encode()
    report = _import(tmp_path, monkeypatch, capsys, sqlite_store, "long.csv", data)
    assert (report["read"], report["unchanged"], report["rejected"]) == (150, 149, 1)
    [row] = reject_rows(Path(report["reject_file"]))
    assert row["_row"] == "92" and "2 fields" in str(row["_reason"])
    monkeypatch.setattr(csv_reader, "MAX_BLOCK_BYTES", 4 << 10)
    code, _, err = rapport(monkeypatch, capsys, "import", "customers", str(tmp_path / "long.csv"))
    assert code == 10 and "有一行超过" in err, err  # RAPPORT_LOCALE defaults to zh_CN


@pytest.mark.slow
def test_a_50_mb_field(
    sqlite_store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    big = "长" * ((50 << 20) // 3)  # 50 MB in UTF-8, in a column kept in `extra`
    rows = ["external_id,name,备注", "BIG-1,a,x", f"BIG-2,b,{big}", "BIG-3,c,y"]
    data = ("\n".join(rows) + "\n").encode()
    report = _import(tmp_path, monkeypatch, capsys, sqlite_store, "big.csv", data)
    assert (report["read"], report["unchanged"], report["rejected"]) == (3, 3, 0)
    with contextlib.closing(create_engine(sqlite_store).raw_connection()) as conn:
        (length,) = conn.execute(
            "SELECT length(extra) FROM customers WHERE external_id = 'BIG-2'"
        ).fetchone()
    assert length > (50 << 20) // 3
