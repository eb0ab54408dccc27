"""Download files listed in a manifest into a cache folder, verifying size and SHA-256."""

from __future__ import annotations

import csv
import hashlib
import http.client
import logging
import os
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("file", "bytes", "sha256", "url")
USER_AGENT = "tailor-sample-data"
CHUNK_BYTES = 1 << 16


class DownloadError(RuntimeError):
    """A manifest file could not be downloaded or verified."""


class ChecksumMismatchError(DownloadError):
    """A file's size or SHA-256 differs from the manifest."""


class _RetryableError(Exception):
    """A connection error or server error (5xx) that is worth another attempt. The original error is its __cause__."""


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a manifest: its bare file name, size in bytes, SHA-256 hex digest and URL."""

    file: str
    size: int
    sha256: str
    url: str


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Parse a manifest CSV with the columns file, bytes, sha256 and url."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in MANIFEST_COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"The manifest {path} is missing the columns {missing}. "
                f"Expected a header with {', '.join(MANIFEST_COLUMNS)}."
            )

        entries = []
        for line_number, row in enumerate(reader, start=2):
            entries.append(_parse_manifest_row(path, line_number, row))

    if not entries:
        raise ValueError(f"The manifest {path} lists no files. Expected at least one row after the header.")
    return entries


def _parse_manifest_row(path: Path, line_number: int, row: dict[str, str]) -> ManifestEntry:
    file_name = row["file"].strip()
    digest = row["sha256"].strip().lower()
    url = row["url"].strip()

    # The name becomes a path inside the cache folder, so it must not contain a folder part.
    if not file_name or Path(file_name).name != file_name or file_name in (".", ".."):
        raise ValueError(f"The manifest {path} line {line_number} has the invalid file name {file_name!r}. Use a bare file name without a folder.")
    try:
        size = int(row["bytes"])
    except ValueError:
        raise ValueError(f"The manifest {path} line {line_number} has the invalid byte count {row['bytes']!r}. Use a whole number.") from None
    if size < 0:
        raise ValueError(f"The manifest {path} line {line_number} has the negative byte count {size}.")
    if len(digest) != 64 or any(char not in "0123456789abcdef" for char in digest):
        raise ValueError(f"The manifest {path} line {line_number} has the invalid SHA-256 {digest!r}. Use 64 hex digits.")
    if not url:
        raise ValueError(f"The manifest {path} line {line_number} has an empty url for {file_name}.")

    return ManifestEntry(file=file_name, size=size, sha256=digest, url=url)


def download_files(
    entries: list[ManifestEntry],
    dest_dir: Path,
    *,
    timeout_s: float = 30.0,
    max_attempts: int = 4,
    backoff_s: float = 1.0,
    max_backoff_s: float = 8.0,
    workers: int = 4,
) -> list[Path]:
    """Download every manifest entry into dest_dir and return the verified paths in manifest order.

    Files already in dest_dir with the expected size and SHA-256 are not downloaded again.
    On the first failure, downloads not yet started are cancelled, and the error is raised once
    the running ones finish.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    logger.info("Checking %d files in %s against the manifest.", len(entries), dest_dir)

    def fetch_one(entry: ManifestEntry) -> Path:
        return download_file(
            entry,
            dest_dir,
            timeout_s=timeout_s,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
        )

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(fetch_one, entry) for entry in entries]
        try:
            paths = [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    logger.info("All %d files in %s are present and verified.", len(paths), dest_dir)
    return paths


def download_file(
    entry: ManifestEntry,
    dest_dir: Path,
    *,
    timeout_s: float = 30.0,
    max_attempts: int = 4,
    backoff_s: float = 1.0,
    max_backoff_s: float = 8.0,
) -> Path:
    """Download one manifest entry into dest_dir unless a verified copy is already there.

    Raises ChecksumMismatchError when the existing or downloaded file differs from the manifest,
    and DownloadError on a client error (4xx) or when every attempt ends in a connection error,
    a timeout or a server error (5xx).
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}.")

    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / entry.file

    if target.exists():
        _verify_existing(entry, target)
        logger.debug("Skipping %s because the cached copy is verified.", target)
        return target

    for attempt in range(1, max_attempts + 1):
        try:
            _fetch_to(entry, target, timeout_s)
            return target
        except _RetryableError as error:
            if attempt == max_attempts:
                raise DownloadError(
                    f"Downloading {entry.file} from {entry.url} failed after {max_attempts} attempts: {error.__cause__}. "
                    "Check the network connection and run again."
                ) from error.__cause__

            delay = min(max_backoff_s, backoff_s * 2 ** (attempt - 1))
            logger.warning(
                "Attempt %d of %d to download %s failed (%s). Retrying in %.1f s.",
                attempt, max_attempts, entry.url, error.__cause__, delay,
            )
            time.sleep(delay)

    raise AssertionError("unreachable: the retry loop returns or raises")


def _verify_existing(entry: ManifestEntry, target: Path) -> None:
    size, digest = _size_and_sha256(target)
    if size == entry.size and digest == entry.sha256:
        return

    raise ChecksumMismatchError(
        f"The cached file {target} does not match the manifest: size {size} bytes (expected {entry.size}), "
        f"SHA-256 {digest} (expected {entry.sha256}). Delete {target} and run again to download it afresh."
    )


def _fetch_to(entry: ManifestEntry, target: Path, timeout_s: float) -> None:
    request = urllib.request.Request(entry.url, headers={"User-Agent": USER_AGENT})

    # Write to a temporary file in the same folder, so the final rename is atomic and a failed
    # download never leaves a file under the target name.
    temp_path: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{entry.file}.", suffix=".part", delete=False
        ) as handle:
            temp_path = Path(handle.name)
            size, digest = _stream(entry, request, handle, timeout_s)

        if size != entry.size or digest != entry.sha256:
            # Reading stops once the response exceeds the manifest size, so then only a lower bound is known.
            actual = f"size more than {entry.size} bytes" if size > entry.size else f"size {size} bytes, SHA-256 {digest}"
            raise ChecksumMismatchError(
                f"The download of {entry.file} from {entry.url} does not match the manifest: "
                f"{actual}, expected size {entry.size} bytes and SHA-256 {entry.sha256}. "
                "Nothing was saved. Check that no proxy or captive portal alters downloads and run again. "
                "If it keeps failing, the published file has changed and the manifest needs an update."
            )

        os.replace(temp_path, target)
        logger.debug("Downloaded and verified %s (%d bytes).", target, size)
    finally:
        if temp_path is not None:
            temp_path.unlink(missing_ok=True)


def _stream(
    entry: ManifestEntry, request: urllib.request.Request, handle: IO[bytes], timeout_s: float
) -> tuple[int, str]:
    hasher = hashlib.sha256()
    size = 0

    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            while chunk := response.read(CHUNK_BYTES):
                size += len(chunk)
                hasher.update(chunk)
                handle.write(chunk)

                # A response longer than the manifest size can never verify, so stop reading it.
                if size > entry.size:
                    break
    except urllib.error.HTTPError as error:
        if 500 <= error.code < 600:
            raise _RetryableError() from error
        raise DownloadError(
            f"Downloading {entry.file} from {entry.url} failed with HTTP {error.code} {error.reason}. "
            "Check that the manifest URL is correct and the file is still published."
        ) from error
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as error:
        # URLError wraps refused connections and DNS failures, TimeoutError covers the per-request timeout.
        raise _RetryableError() from error

    return size, hasher.hexdigest()


def _size_and_sha256(path: Path) -> tuple[int, str]:
    hasher = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            size += len(chunk)
            hasher.update(chunk)
    return size, hasher.hexdigest()
