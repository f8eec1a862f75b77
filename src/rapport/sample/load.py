"""Load a generated (or CDNOW) company into the store through the importer.

The company is written to Parquet files in a temporary directory and each entity is imported
in reference order by :func:`rapport.ingest.importer.import_file` — the same path a
business's own files take, so the sample exercises the importer end to end.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from rapport.config import load_rules
from rapport.ingest.entities import IMPORT_ORDER
from rapport.ingest.importer import import_file
from rapport.ingest.report import ImportReport
from rapport.sample.company import SampleCompany, write
from rapport.store import session_scope
from rapport.store.loyalty_earning import post_orders
from rapport.store.repository import utcnow

#: Called before each entity is imported: (entity, rows in the file).
OnEntity = Callable[[str, int], None]


def load_company(
    company: SampleCompany,
    *,
    engine: Engine,
    on_entity: OnEntity | None = None,
    work_dir: str | Path | None = None,
) -> list[ImportReport]:
    """Import every table of ``company`` into the store behind ``engine``.

    Returns
    -------
    list of ImportReport
        One report per imported entity, in import order.
    """
    counts = company.row_counts()
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="rapport-sample-") as tmp:
        directory = write(company, tmp, format="parquet")
        reports = []
        for entity in IMPORT_ORDER:
            path = Path(directory) / f"{entity}.parquet"
            if not path.is_file() or counts.get(entity, 0) == 0:
                continue
            if on_entity is not None:
                on_entity(entity, counts[entity])
            reports.append(import_file(entity, path, engine=engine, earn=False))
    # the points of the orders once the company's own ledger is in: its earnings are
    # adopted, orders it did not reward (not yet completed) earn by the rules
    post_orders(lambda: session_scope(engine, writing=True), rules=load_rules(), now=utcnow())
    return reports
