"""Find the Online Retail sample data files: a configured folder, the shared data folder, or a download."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sample_data.download import download_files, read_manifest
from settings import REPO_ROOT, Settings, get_settings

logger = logging.getLogger(__name__)

# Path of the single concatenated file inside a data folder laid out like the shared one.
CONCATENATED_FILE = Path("behaviour") / "online_retail_uci" / "online_retail.csv.gz"

# Daily files are named by their date, for example 2010-12-01.csv.
DAILY_FILE_GLOB = "????-??-??.csv"

# The manifest ships with the package, so a download works without the shared data folder.
MANIFEST_PATH = Path(__file__).with_name("online_retail_manifest.csv")

Source = Literal["data_dir", "shared", "download"]


@dataclass(frozen=True)
class DatasetFiles:
    """CSV files of the dataset in date order, and where they were found."""

    paths: tuple[Path, ...]
    source: Source


def default_shared_data_dir() -> Path:
    """Return the shared data folder beside the repository clone."""
    return REPO_ROOT.parent / "shared" / "data"


def download_dir(settings: Settings) -> Path:
    """Return the cache folder that contains the downloaded daily files."""
    return settings.cache_dir / "online_retail" / "by-day"


def locate_dataset(
    settings: Settings | None = None,
    *,
    shared_data_dir: Path | None = None,
    manifest_path: Path = MANIFEST_PATH,
    allow_download: bool = True,
) -> DatasetFiles:
    """Find the dataset, trying three places in order, and return its files.

    1. settings.data_dir when set. It must contain either behaviour/online_retail_uci/online_retail.csv.gz
       (the layout of the shared data folder) or daily files named YYYY-MM-DD.csv directly inside it.
       A data_dir with neither raises FileNotFoundError instead of falling through, because an explicit
       setting that is silently ignored hides mistakes.
    2. The same concatenated file in the shared data folder beside the repository (shared_data_dir).
    3. The daily files listed in the manifest, downloaded into settings.cache_dir/online_retail/by-day
       and verified by size and SHA-256. Verified files already in the cache are not downloaded again.

    NOTE: the shared concatenated file stops on 2011-11-02 because the last 20 % by time is held back,
    while the 305 daily files of the manifest run to 2011-12-09, so the two sources give different counts.
    """
    settings = settings or get_settings()
    shared_data_dir = shared_data_dir or default_shared_data_dir()

    if settings.data_dir is not None:
        files = _files_in_data_dir(settings.data_dir)
        logger.info("Using %d Online Retail file(s) from the configured data_dir %s.", len(files.paths), settings.data_dir)
        return files

    shared_file = shared_data_dir / CONCATENATED_FILE
    if shared_file.is_file():
        logger.info("Using the Online Retail file %s from the shared data folder.", shared_file)
        return DatasetFiles(paths=(shared_file,), source="shared")

    if not allow_download:
        raise FileNotFoundError(
            f"The Online Retail dataset was not found: no data_dir is set and {shared_file} does not exist. "
            "Set TAILOR_DATA_DIR to a folder with the data, or allow the download into the cache folder."
        )

    target_dir = download_dir(settings)
    logger.info("Downloading the Online Retail daily files listed in %s into %s.", manifest_path, target_dir)
    paths = download_files(read_manifest(manifest_path), target_dir)
    return DatasetFiles(paths=tuple(paths), source="download")


def _files_in_data_dir(data_dir: Path) -> DatasetFiles:
    concatenated = data_dir / CONCATENATED_FILE
    if concatenated.is_file():
        return DatasetFiles(paths=(concatenated,), source="data_dir")

    # Date-named files sort by name into date order, which keeps the line order of each invoice stable.
    daily = tuple(sorted(data_dir.glob(DAILY_FILE_GLOB)))
    if daily:
        return DatasetFiles(paths=daily, source="data_dir")

    raise FileNotFoundError(
        f"The configured data_dir {data_dir} contains neither {CONCATENATED_FILE} nor daily files named "
        "YYYY-MM-DD.csv. Point TAILOR_DATA_DIR at a folder with one of them, or unset it to use the shared "
        "data folder or the download."
    )
