"""Formula injection in the CSV files of the command line: `rapport metrics --format csv`
and `rapport sample --format csv` neutralise text a spreadsheet would run and leave phone
numbers, amounts and times alone; a sample file imported back gives the original text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.ingest.spreadsheet import neutralise
from rapport.store import schema

runner = CliRunner()
CMD = "=cmd|' /C calc'!A0"
SUM = "@SUM(1)"


def _reads_as_formula(cell: str) -> bool:
    return cell != neutralise(cell) and not cell.startswith("'")


def test_metrics_csv_neutralises_segments() -> None:
    from rapport.cli.common import store_engine
    from rapport.cli.sample import _load
    from rapport.sample.generator import generate

    _load(generate(customers=60, months=6, seed=3, end=dt.date(2025, 1, 1)))
    engine = store_engine()
    with engine.begin() as conn:
        ids = conn.execute(sa.select(schema.customers.c.id).order_by("id")).scalars().all()
        c = schema.customers.c
        conn.execute(schema.customers.update().where(c.id.in_(ids[:5])).values(city=CMD))
        conn.execute(schema.customers.update().where(c.id.in_(ids[5:8])).values(city=SUM))
    engine.dispose()
    args = ["metrics", "--as-of", "2024-12-31", "--by", "city", "--metrics", "customers_end"]
    result = runner.invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    segments = {r["segment"] for r in rows}
    assert {"'" + CMD, "'" + SUM} <= segments
    assert not any(_reads_as_formula(v) for r in rows for v in r.values() if v)


def test_sample_csv_is_neutralised_and_imports_back(tmp_path: Path) -> None:
    from rapport.ingest.importer import import_file
    from rapport.sample.company import write
    from rapport.sample.generator import generate
    from rapport.store.db import create_engine, upgrade

    company = generate(customers=20, months=3, seed=7, end=dt.date(2025, 1, 1))
    customers = company.tables["customers"]
    names = customers.column("name").to_pylist()
    names[:2] = [CMD, SUM]
    at = customers.schema.get_field_index("name")
    company.tables["customers"] = customers.set_column(
        at, customers.schema.field(at), pa.array(names, customers.schema.field(at).type)
    )
    write(company, tmp_path / "out", format="csv")
    with (tmp_path / "out" / "customers.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows[:2]] == ["'" + CMD, "'" + SUM]
    assert not any(_reads_as_formula(v) for r in rows for v in r.values() if v)

    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    import_file("users", tmp_path / "out" / "users.csv", engine=engine)  # the owners
    report = import_file("customers", tmp_path / "out" / "customers.csv", engine=engine)
    assert report.inserted == 20, report
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(schema.customers.c.name).order_by(schema.customers.c.id).limit(2)
        ).scalars()
        assert list(stored) == [CMD, SUM]
    engine.dispose()


def test_sample_command_csv_keeps_phones_amounts_and_times(tmp_path: Path) -> None:
    out = tmp_path / "files"
    result = runner.invoke(
        app, ["sample", "--customers", "30", "--months", "3", "--out", str(out), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    with (out / "customers.csv").open(encoding="utf-8", newline="") as fh:
        phones = [r["phone"] for r in csv.DictReader(fh) if r["phone"]]
    assert phones and all(re.fullmatch(r"\+86[0-9]{11}", p) for p in phones)
    with (out / "orders.csv").open(encoding="utf-8", newline="") as fh:
        orders = list(csv.DictReader(fh))
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", r["ordered_at"])
        for r in orders
    )
    for path in out.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as fh:
            assert not any(_reads_as_formula(v) for row in csv.reader(fh) for v in row)
