"""Tests of the loader on the real Online Retail file in the shared data folder beside the repository."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sample_data.locate import CONCATENATED_FILE, DatasetFiles, default_shared_data_dir
from sample_data.online_retail import (
    NON_PRODUCT_DIGIT_CODES,
    CleaningReport,
    RetailData,
    load_online_retail,
)

SHARED_FILE = default_shared_data_dir() / CONCATENATED_FILE

pytestmark = pytest.mark.skipif(not SHARED_FILE.is_file(), reason=f"{SHARED_FILE} is missing")

# Measured on the shared file (433,527 lines from 2010-12-01 to 2011-11-02). A change means that
# the file or the cleaning rules changed.
MEASURED_REPORT = CleaningReport(
    rows_read=433_527,
    cancellations=7_895,
    non_positive_quantity=1_173,
    non_positive_price=1_036,
    non_product_code=2_070,
    sale_lines=421_353,
    missing_customer=104_820,
    empty_description=0,
    purchases=316_533,
    products=3_741,
    users=3_982,
)


@pytest.fixture(scope="module")
def shared() -> RetailData:
    return load_online_retail(DatasetFiles(paths=(SHARED_FILE,), source="shared"))


def test_shared_report_matches_measured(shared: RetailData) -> None:
    assert shared.report == MEASURED_REPORT


def test_shared_sizes_match_report(shared: RetailData) -> None:
    assert len(shared.catalog) == MEASURED_REPORT.products
    assert len(shared.purchases) == MEASURED_REPORT.purchases
    assert len(shared.purchase_frame) == MEASURED_REPORT.purchases
    assert len({purchase.user_id for purchase in shared.purchases}) == MEASURED_REPORT.users
    assert sum(product.times_sold for product in shared.catalog) == MEASURED_REPORT.sale_lines


def test_shared_time_range(shared: RetailData) -> None:
    first, last = shared.time_range

    assert datetime.fromtimestamp(first, UTC) == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    assert datetime.fromtimestamp(last, UTC) == datetime(2011, 11, 2, 9, 45, tzinfo=UTC)


def test_shared_catalog_has_only_products(shared: RetailData) -> None:
    doc_ids = [product.doc_id for product in shared.catalog]

    assert doc_ids == sorted(doc_ids)
    assert len(set(doc_ids)) == len(doc_ids)
    assert [doc_id for doc_id in doc_ids if not doc_id[0].isdigit()] == []
    assert [doc_id for doc_id in doc_ids if doc_id in NON_PRODUCT_DIGIT_CODES] == []
    assert [doc_id for doc_id in doc_ids if doc_id != doc_id.upper()] == []
    assert [product.doc_id for product in shared.catalog if not product.title] == []
    assert [product.doc_id for product in shared.catalog if product.price <= 0] == []


def test_shared_purchases_well_formed(shared: RetailData) -> None:
    catalog_ids = {product.doc_id for product in shared.catalog}
    keys = [(purchase.timestamp, purchase.event_id) for purchase in shared.purchases]

    assert keys == sorted(keys)
    assert len({purchase.event_id for purchase in shared.purchases}) == len(shared.purchases)
    assert [p.user_id for p in shared.purchases if not p.user_id.isdigit()] == []
    assert [p.doc_id for p in shared.purchases if p.doc_id not in catalog_ids] == []
    assert [p.event_id for p in shared.purchases if p.quantity <= 0 or p.price <= 0] == []
    assert [p.invoice_no for p in shared.purchases if p.invoice_no.startswith("C")] == []


def test_shared_first_purchase(shared: RetailData) -> None:
    first = shared.purchases[0]

    assert first.event_id == "retail-536365-0"
    assert first.user_id == "17850"
    assert first.doc_id == "85123A"
    assert first.quantity == 6
    assert first.price == 2.55


def test_shared_rows_split_into_daily_files(shared: RetailData, tmp_path: Path) -> None:
    # Copy the first three days of real lines, unchanged, into daily files like the published ones.
    with gzip.open(SHARED_FILE, "rt", encoding="utf-8", newline="") as handle:
        header = handle.readline()
        days: dict[str, list[str]] = {}
        for line in handle:
            day = next(csv.reader([line]))[4][:10]
            if day not in days and len(days) == 3:
                break
            days.setdefault(day, []).append(line)

    paths = []
    for day, lines in days.items():
        path = tmp_path / f"{day}.csv"
        path.write_text(header + "".join(lines), encoding="utf-8", newline="")
        paths.append(path)

    daily = load_online_retail(DatasetFiles(paths=tuple(paths), source="data_dir"))
    last_timestamp = daily.time_range[1]
    same_days = [purchase for purchase in shared.purchases if purchase.timestamp <= last_timestamp]

    assert list(days) == ["2010-12-01", "2010-12-02", "2010-12-03"]
    assert daily.purchases == same_days
    assert daily.report.rows_read == sum(len(lines) for lines in days.values())
