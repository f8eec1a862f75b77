"""The CDNOW dataset (Fader & Hardie), as shipped inside the ``lifetimes`` package.

``CDNOW_master.txt`` holds every purchase of the 23,570 customers who first bought at
CDNOW in the first quarter of 1997, up to June 1998; ``CDNOW_sample.txt`` is the 1/10
sample of 2,357 customers used by the BG/NBD paper. The files are read where pip put them
(``importlib.metadata``), without importing ``lifetimes`` and without any download.
"""

from __future__ import annotations

import importlib.metadata
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from rapport.errors import NotFound, ValidationFailed
from rapport.sample import arrays as A
from rapport.sample.company import SampleCompany, make_table

Which = Literal["sample", "master"]
FILES = {"sample": "CDNOW_sample.txt", "master": "CDNOW_master.txt"}
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def cdnow_path(which: Which = "sample") -> Path:
    """Where the installed ``lifetimes`` distribution keeps the CDNOW file.

    Raises
    ------
    NotFound
        When ``lifetimes`` is not installed or its wheel lacks the file.
    """
    if which not in FILES:
        raise ValidationFailed(
            "unknown CDNOW file {which!r}",
            field="which",
            value=which,
            hint="use one of: {choices}",
            key="cdnow_file_unknown",
            params={"which": which, "choices": "sample, master"},
            hint_key="option_value_unknown.hint",
        )
    hint = "install it with `pip install lifetimes` (the data ships inside its wheel)"
    try:
        dist = importlib.metadata.distribution("lifetimes")
    except importlib.metadata.PackageNotFoundError:
        raise NotFound(
            "the CDNOW data needs the package `lifetimes`",
            hint=hint,
            key="cdnow_lifetimes_missing",
            hint_key="cdnow_lifetimes.hint",
        ) from None
    path = Path(str(dist.locate_file(f"lifetimes/datasets/{FILES[which]}")))
    if not path.is_file():
        raise NotFound(
            "{file} is missing from the installed lifetimes",
            hint=hint,
            key="cdnow_file_missing",
            params={"file": FILES[which]},
            hint_key="cdnow_lifetimes.hint",
        )
    return path


def read_cdnow(which: Which = "sample") -> dict[str, np.ndarray]:
    """The raw transactions: ``customer`` (CDNOW id), ``date`` (days since 1970-01-01),
    ``cds`` and ``cents``, in file order.

    The master file has four whitespace-separated columns (customer id, YYYYMMDD, number
    of CDs, dollar value) under a header line; the sample file has no header and an extra
    second column, the customer's sequence number inside the sample (1..2357), which is
    dropped: customers keep their master id in both files.
    """
    path = cdnow_path(which)
    lines = [ln.split() for ln in path.read_text(encoding="ascii").splitlines() if ln.strip()]
    if lines and not lines[0][0].isdigit():
        lines = lines[1:]
    table = np.array(lines)
    ymd = table[:, -3].astype(np.int64)
    months = (ymd // 10000 - 1970) * 12 + ymd // 100 % 100 - 1
    days = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + ymd % 100 - 1
    return {
        "customer": table[:, 0].astype(np.int64),
        "date": days,
        "cds": table[:, -2].astype(np.int64),
        "cents": np.round(table[:, -1].astype(np.float64) * 100).astype(np.int64),
    }


def load_cdnow(which: Which = "sample") -> SampleCompany:
    """CDNOW in the import format: ``customers`` and ``orders``.

    One order per transaction line, ``status`` completed, currency USD, channel
    ``online_store``, ``gross_amount = net_amount`` = the dollar value (no discounts or
    refunds), ``ordered_at`` the transaction date at 00:00 UTC. Customer ``external_id`` is
    ``CDNOW-`` plus the 5-digit CDNOW id, ``created_at`` their first purchase date; order
    ``external_id`` is the customer's id plus the line's 3-digit rank among that
    customer's lines in file order (``CDNOW-00004-001``). CDNOW has no products, so there
    are no order items. ``params["transactions"]`` keeps the raw lines (with the number of
    CDs).

    Raises
    ------
    NotFound
        When ``lifetimes`` (which ships the files) is not installed.
    """
    raw = read_cdnow(which)
    cust = raw["customer"]
    order = np.lexsort((np.arange(len(cust)), cust))
    rank = np.empty(len(cust), dtype=np.int64)
    rank[order] = A.rank_in_group(cust[order]) + 1
    ids = np.unique(cust)
    first_date = np.full(len(ids), np.iinfo(np.int64).max)
    np.minimum.at(first_date, np.searchsorted(ids, cust), raw["date"])
    cust_ext = A.numbered("CDNOW-", ids, 5)
    order_cust = A.numbered("CDNOW-", cust, 5)
    order_ext = A.concat(order_cust, "-", A.numbered("", rank, 3))
    n_c, n_o = len(ids), len(cust)
    nulls = pa.nulls(n_c, pa.string())
    customers = {
        "external_id": cust_ext,
        **{
            k: nulls
            for k in (
                "name",
                "email",
                "phone",
                "wechat_id",
                "province",
                "city",
                "district",
                "street",
                "postal_code",
                "occupation",
                "income_band",
                "owner_username",
                "tags",
            )
        },
        "country": pa.array(["US"] * n_c, pa.string()),
        "birthday": pa.nulls(n_c, pa.date32()),
        "gender": pa.array(["unknown"] * n_c, pa.string()),
        "source_channel": pa.array(["online_store"] * n_c, pa.string()),
        "marketing_consent": pa.array(np.zeros(n_c, bool)),
        "marketing_opt_out": pa.array(np.zeros(n_c, bool)),
        "loyalty_joined_at": pa.nulls(n_c, A.TIMESTAMP),
        "created_at": A.timestamps(first_date * 86400),
    }
    zero = np.zeros(n_o, dtype=np.int64)
    orders = {
        "external_id": order_ext,
        "customer_external_id": order_cust,
        "status": pa.array(["completed"] * n_o, pa.string()),
        "ordered_at": A.timestamps(raw["date"] * 86400),
        "gross_amount": A.money(raw["cents"]),
        "discount_amount": A.money(zero),
        "refunded_amount": A.money(zero),
        "net_amount": A.money(raw["cents"]),
        "currency": pa.array(["USD"] * n_o, pa.string()),
        "channel": pa.array(["online_store"] * n_o, pa.string()),
        "store": pa.nulls(n_o, pa.string()),
    }
    transactions = pa.table(
        {
            "order_external_id": order_ext,
            "customer_external_id": order_cust,
            "date": A.dates(raw["date"]),
            "cds": pa.array(raw["cds"], pa.int32()),
            "dollar_value": A.money(raw["cents"]),
        }
    )
    params = {
        "source": "CDNOW",
        "which": which,
        "file": FILES[which],
        "customers": n_c,
        "transactions": transactions,
        "timezone": "UTC",
        "currency": "USD",
        "first_date": str(np.datetime64(int(raw["date"].min()), "D")),
        "last_date": str(np.datetime64(int(raw["date"].max()), "D")),
    }
    tables = {
        "customers": make_table("customers", customers),
        "orders": make_table("orders", orders),
    }
    return SampleCompany(tables, params)
