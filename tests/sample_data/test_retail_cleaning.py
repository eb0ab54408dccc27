"""Tests of the Online Retail cleaning rules on small hand-written files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sample_data.locate import DatasetFiles
from sample_data.online_retail import CleaningReport, Product, load_online_retail

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"

# One line per rule. The comment at the end of each line is the expected outcome.
WINTER_LINES = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",  # purchase
    "536365,71053,WHITE METAL LANTERN ,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom",  # purchase
    "536365,POST,POSTAGE,1,2010-12-01 08:26:00,18.0,17850.0,United Kingdom",  # non-product code
    "536365,22752,SET 7 BABUSHKA NESTING BOXES,2,2010-12-01 08:26:00,7.65,17850.0,United Kingdom",  # purchase
    "C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-1,2010-12-01 09:41:00,2.55,14527.0,United Kingdom",  # cancellation
]
SUMMER_LINES = [
    "550000,85123a,  WHITE   HANGING HEART T-LIGHT HOLDER ,2,2011-06-15 12:00:00,2.95,,United Kingdom",  # catalog only
    "550001,71053,,3,2011-06-15 13:30:00,3.39,13047.0,United Kingdom",  # purchase without a title vote
    "550002,22423,REGENCY CAKESTAND 3 TIER,0,2011-06-15 14:00:00,12.75,13047.0,United Kingdom",  # quantity 0
    "550003,22423,REGENCY CAKESTAND 3 TIER,1,2011-06-15 14:00:00,0.0,13047.0,United Kingdom",  # price 0
    "550004,23444,Next Day Carriage,1,2011-06-15 14:00:00,15.0,13047.0,United Kingdom",  # fee with a digit code
    "550005,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,2011-06-15 14:00:00,17.02,13047.0,United Kingdom",  # voucher
    "550006,21034,REX CASH+CARRY JUMBO SHOPPER,1,2011-06-15 15:00:00,0.95,13047.0,United Kingdom",  # purchase
    "550006,21034,REX CASH & CARRY SHOPPER,1,2011-06-15 15:00:00,0.95,13047.0,United Kingdom",  # purchase
]


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def utc_seconds(year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


@pytest.fixture
def single_file(tmp_path: Path) -> DatasetFiles:
    path = write_csv(tmp_path / "retail.csv", WINTER_LINES + SUMMER_LINES)
    return DatasetFiles(paths=(path,), source="data_dir")


def test_cleaning_report_counts(single_file: DatasetFiles) -> None:
    report = load_online_retail(single_file).report

    assert report == CleaningReport(
        rows_read=13,
        cancellations=1,
        non_positive_quantity=1,
        non_positive_price=1,
        non_product_code=3,
        sale_lines=7,
        missing_customer=1,
        empty_description=1,
        purchases=6,
        products=4,
        users=2,
    )
    assert report.skipped() == {
        "cancellations": 1,
        "non_positive_quantity": 1,
        "non_positive_price": 1,
        "non_product_code": 3,
    }


def test_catalog_products(single_file: DatasetFiles) -> None:
    catalog = load_online_retail(single_file).catalog

    assert catalog == [
        Product("21034", "REX CASH & CARRY SHOPPER", 0.95, utc_seconds(2011, 6, 15, 14, 0), 2),
        Product("22752", "SET 7 BABUSHKA NESTING BOXES", 7.65, utc_seconds(2010, 12, 1, 8, 26), 1),
        Product("71053", "WHITE METAL LANTERN", 3.39, utc_seconds(2010, 12, 1, 8, 26), 2),
        Product("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.75, utc_seconds(2010, 12, 1, 8, 26), 2),
    ]


def test_purchases_skip_missing_customer(single_file: DatasetFiles) -> None:
    purchases = load_online_retail(single_file).purchases

    assert [(p.event_id, p.user_id, p.doc_id) for p in purchases] == [
        ("retail-536365-0", "17850", "85123A"),
        ("retail-536365-1", "17850", "71053"),
        ("retail-536365-3", "17850", "22752"),
        ("retail-550001-0", "13047", "71053"),
        ("retail-550006-0", "13047", "21034"),
        ("retail-550006-1", "13047", "21034"),
    ]
    assert all(p.invoice_no[0].isdigit() for p in purchases)


def test_purchase_fields_typed(single_file: DatasetFiles) -> None:
    first = load_online_retail(single_file).purchases[0]

    assert first.invoice_no == "536365"
    assert first.user_id == "17850"
    assert type(first.quantity) is int
    assert first.quantity == 6
    assert type(first.price) is float
    assert first.price == 2.55
    assert type(first.timestamp) is float


def test_timestamps_winter_and_summer(single_file: DatasetFiles) -> None:
    data = load_online_retail(single_file)
    by_event = {purchase.event_id: purchase for purchase in data.purchases}

    # December is GMT (UTC+0), June is BST (UTC+1).
    assert by_event["retail-536365-0"].timestamp == utc_seconds(2010, 12, 1, 8, 26)
    assert by_event["retail-550001-0"].timestamp == utc_seconds(2011, 6, 15, 12, 30)
    assert data.time_range == (utc_seconds(2010, 12, 1, 8, 26), utc_seconds(2011, 6, 15, 14, 0))


def test_purchase_frame_matches_list(single_file: DatasetFiles) -> None:
    data = load_online_retail(single_file)
    frame = data.purchase_frame

    assert list(frame.columns) == ["event_id", "invoice_no", "user_id", "doc_id", "quantity", "price", "timestamp"]
    assert frame["event_id"].tolist() == [p.event_id for p in data.purchases]
    assert frame["timestamp"].tolist() == [p.timestamp for p in data.purchases]


def test_event_ids_deterministic(single_file: DatasetFiles) -> None:
    first = load_online_retail(single_file).purchases
    second = load_online_retail(single_file).purchases

    assert first == second
    assert len({purchase.event_id for purchase in first}) == len(first)


def test_daily_files_match_single_file(single_file: DatasetFiles, tmp_path: Path) -> None:
    winter = write_csv(tmp_path / "2010-12-01.csv", WINTER_LINES)
    summer = write_csv(tmp_path / "2011-06-15.csv", SUMMER_LINES)
    daily = DatasetFiles(paths=(winter, summer), source="data_dir")

    from_daily = load_online_retail(daily)
    from_single = load_online_retail(single_file)

    assert from_daily.catalog == from_single.catalog
    assert from_daily.purchases == from_single.purchases
    assert from_daily.report == from_single.report


def test_title_tie_takes_alphabetical_first(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "retail.csv",
        [
            "536365,10002,ZEBRA GLOBE,1,2010-12-01 08:26:00,0.85,17850.0,United Kingdom",
            "536366,10002,INFLATABLE POLITICAL GLOBE,1,2010-12-01 08:28:00,0.85,17850.0,United Kingdom",
        ],
    )

    catalog = load_online_retail(DatasetFiles(paths=(path,), source="data_dir")).catalog

    assert catalog[0].title == "INFLATABLE POLITICAL GLOBE"


@pytest.mark.parametrize(
    ("line", "column", "value"),
    [
        ("536365,85123A,HEART,six,2010-12-01 08:26:00,2.55,17850.0,United Kingdom", "Quantity", "six"),
        ("536365,85123A,HEART,1.5,2010-12-01 08:26:00,2.55,17850.0,United Kingdom", "Quantity", "1.5"),
        ("536365,85123A,HEART,6,2010-12-01 08:26:00,cheap,17850.0,United Kingdom", "UnitPrice", "cheap"),
        ("536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.5,United Kingdom", "CustomerID", "17850.5"),
        ("536365,85123A,HEART,6,1/12/2010 8:26,2.55,17850.0,United Kingdom", "InvoiceDate", "1/12/2010 8:26"),
    ],
)
def test_invalid_value_names_file_and_row(tmp_path: Path, line: str, column: str, value: str) -> None:
    good = "536364,71053,WHITE METAL LANTERN,6,2010-12-01 08:20:00,3.39,17850.0,United Kingdom"
    path = write_csv(tmp_path / "retail.csv", [good, line])

    with pytest.raises(ValueError) as raised:
        load_online_retail(DatasetFiles(paths=(path,), source="data_dir"))

    message = str(raised.value)
    assert str(path) in message
    assert f"invalid {column} {value!r}" in message
    assert "data row 2" in message


def test_missing_column_raises(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    path.write_text("InvoiceNo,StockCode,Quantity\n536365,85123A,6\n")

    with pytest.raises(ValueError) as raised:
        load_online_retail(DatasetFiles(paths=(path,), source="data_dir"))

    assert "missing the columns ['Description', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country']" in str(raised.value)


def test_empty_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "2010-12-01.csv"
    path.write_text("")

    with pytest.raises(ValueError) as raised:
        load_online_retail(DatasetFiles(paths=(path,), source="data_dir"))

    assert f"The file {path} could not be read as CSV" in str(raised.value)
