"""Tests of the order in which the Online Retail files are looked for."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from sample_data.download import read_manifest
from sample_data.locate import (
    CONCATENATED_FILE,
    MANIFEST_PATH,
    default_shared_data_dir,
    locate_dataset,
)
from settings import Settings

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
LINE = "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"


def make_data_folder(root: Path) -> Path:
    """Create a data folder with the shared layout and a one-line concatenated file."""
    path = root / CONCATENATED_FILE
    path.parent.mkdir(parents=True)
    with gzip.open(path, "wt") as handle:
        handle.write(HEADER + LINE)
    return path


def test_data_dir_wins_over_shared_folder(tmp_path: Path) -> None:
    configured = make_data_folder(tmp_path / "configured")
    make_data_folder(tmp_path / "shared")
    settings = Settings(data_dir=tmp_path / "configured", cache_dir=tmp_path / "cache")

    files = locate_dataset(settings, shared_data_dir=tmp_path / "shared", allow_download=False)

    assert files.source == "data_dir"
    assert files.paths == (configured,)


def test_data_dir_with_daily_files(tmp_path: Path) -> None:
    for name in ["2010-12-02.csv", "2010-12-01.csv", "notes.csv"]:
        (tmp_path / name).write_text(HEADER + LINE)
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache")

    files = locate_dataset(settings, allow_download=False)

    assert files.source == "data_dir"
    assert files.paths == (tmp_path / "2010-12-01.csv", tmp_path / "2010-12-02.csv")


def test_data_dir_without_data_raises(tmp_path: Path) -> None:
    make_data_folder(tmp_path / "shared")
    settings = Settings(data_dir=tmp_path / "empty", cache_dir=tmp_path / "cache")

    with pytest.raises(FileNotFoundError) as raised:
        locate_dataset(settings, shared_data_dir=tmp_path / "shared")

    assert str(tmp_path / "empty") in str(raised.value)


def test_shared_folder_used_without_data_dir(tmp_path: Path) -> None:
    shared_file = make_data_folder(tmp_path / "shared")
    settings = Settings(data_dir=None, cache_dir=tmp_path / "cache")

    files = locate_dataset(settings, shared_data_dir=tmp_path / "shared", allow_download=False)

    assert files.source == "shared"
    assert files.paths == (shared_file,)


def test_shared_folder_beside_repository_found(tmp_path: Path) -> None:
    shared_file = default_shared_data_dir() / CONCATENATED_FILE
    if not shared_file.is_file():
        pytest.skip(f"no shared data folder beside this clone ({shared_file} is missing)")
    settings = Settings(data_dir=None, cache_dir=tmp_path / "cache")

    files = locate_dataset(settings, allow_download=False)

    assert files.source == "shared"
    assert files.paths == (shared_file,)


def test_nothing_found_without_download_raises(tmp_path: Path) -> None:
    settings = Settings(data_dir=None, cache_dir=tmp_path / "cache")

    with pytest.raises(FileNotFoundError) as raised:
        locate_dataset(settings, shared_data_dir=tmp_path / "missing", allow_download=False)

    assert "TAILOR_DATA_DIR" in str(raised.value)
    assert not (tmp_path / "cache").exists()


def test_packaged_manifest_lists_daily_files() -> None:
    entries = read_manifest(MANIFEST_PATH)

    assert len(entries) == 305
    assert len({entry.file for entry in entries}) == 305
    assert entries[0].file == "2010-12-01.csv"
    assert entries[-1].file == "2011-12-09.csv"
    assert all(entry.url.startswith("https://") and entry.url.endswith("/" + entry.file) for entry in entries)
    assert sum(entry.size for entry in entries) == 48_064_654


def test_packaged_manifest_matches_shared_copy() -> None:
    shared_manifest = default_shared_data_dir() / "behaviour" / "online_retail_uci" / "by_day_manifest.csv"
    if not shared_manifest.is_file():
        pytest.skip(f"no shared data folder beside this clone ({shared_manifest} is missing)")

    assert read_manifest(MANIFEST_PATH) == read_manifest(shared_manifest)
