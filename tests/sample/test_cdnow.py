"""The CDNOW loader: counts, dates, amounts and the import format."""

from __future__ import annotations

import importlib.metadata
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from rapport.errors import NotFound, ValidationFailed
from rapport.sample import SCHEMAS, load_cdnow
from rapport.sample.cdnow import cdnow_path


@pytest.fixture(scope="module")
def sample():
    return load_cdnow("sample")


@pytest.fixture(scope="module")
def master():
    return load_cdnow("master")


def raw_lines(which: str) -> list[list[str]]:
    lines = [ln.split() for ln in cdnow_path(which).read_text().splitlines() if ln.strip()]
    return [ln for ln in lines if ln[0].isdigit()]


@pytest.mark.parametrize(
    ("which", "customers", "transactions"),
    [("sample", 2_357, 6_919), ("master", 23_570, 69_659)],
)
def test_counts(which: str, customers: int, transactions: int, request) -> None:
    company = request.getfixturevalue(which)
    assert company["customers"].num_rows == customers
    assert company["orders"].num_rows == transactions
    assert company.params["transactions"].num_rows == transactions


@pytest.mark.parametrize("which", ["sample", "master"])
def test_import_format(which: str, request) -> None:
    company = request.getfixturevalue(which)
    assert set(company.tables) == {"customers", "orders"}
    for name, table in company.tables.items():
        assert table.schema.equals(SCHEMAS[name]), name
        ids = table["external_id"]
        assert len(ids.unique()) == len(ids)
    orders = company["orders"]
    assert pc.all(pc.match_substring_regex(orders["external_id"], r"^CDNOW-\d{5}-\d{3}$")).as_py()
    assert pc.all(pc.is_in(orders["customer_external_id"], company["customers"]["external_id"]))
    assert orders["status"].unique().to_pylist() == ["completed"]
    assert orders["currency"].unique().to_pylist() == ["USD"]
    assert pc.all(pc.equal(orders["gross_amount"], orders["net_amount"])).as_py()


@pytest.mark.parametrize("which", ["sample", "master"])
def test_dates_and_first_purchase(which: str, request) -> None:
    company = request.getfixturevalue(which)
    orders = company["orders"].to_pandas()
    assert str(orders.ordered_at.min().date()) == "1997-01-01"
    assert str(orders.ordered_at.max().date()) == "1998-06-30"
    assert (orders.ordered_at.dt.hour == 0).all()
    first = orders.groupby("customer_external_id").ordered_at.min()
    created = company["customers"].to_pandas().set_index("external_id").created_at
    assert (created.loc[first.index] == first).all()
    # the CDNOW cohort: every customer's first purchase is in the first quarter of 1997
    assert str(created.max().date()) <= "1997-03-31"


@pytest.mark.parametrize("which", ["sample", "master"])
def test_amounts_match_the_file(which: str, request) -> None:
    company = request.getfixturevalue(which)
    expected = sum(Decimal(line[-1]) for line in raw_lines(which))
    assert pc.sum(company["orders"]["net_amount"]).as_py() == expected
    cds = sum(int(line[-2]) for line in raw_lines(which))
    assert pc.sum(company.params["transactions"]["cds"]).as_py() == cds


def test_sample_customers_keep_their_master_ids(sample, master) -> None:
    s = sample["orders"].select(["external_id", "ordered_at", "net_amount"])
    m = master["orders"].select(["external_id", "ordered_at", "net_amount"])
    joined = s.join(m, "external_id", right_suffix="_m")
    assert joined.num_rows == s.num_rows
    assert pc.all(pc.equal(joined["net_amount"], joined["net_amount_m"])).as_py()
    assert pc.all(pc.equal(joined["ordered_at"], joined["ordered_at_m"])).as_py()


def test_missing_package_is_a_clear_not_found(monkeypatch) -> None:
    def absent(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    with pytest.raises(NotFound, match="lifetimes") as info:
        load_cdnow("sample")
    assert "pip install lifetimes" in str(info.value)


def test_unknown_file_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        load_cdnow("full")  # type: ignore[arg-type]


def test_timestamps_are_utc_midnight(sample) -> None:
    ts = sample["orders"]["ordered_at"]
    assert ts.type == pa.timestamp("us", tz="UTC")
    micros = ts.cast(pa.int64()).to_numpy()
    assert (micros % 86_400_000_000 == 0).all()
