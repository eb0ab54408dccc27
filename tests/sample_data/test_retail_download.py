"""Tests of the manifest download against a loopback HTTP server."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sample_data.download import (
    ChecksumMismatchError,
    DownloadError,
    ManifestEntry,
    download_file,
    download_files,
    read_manifest,
)
from sample_data.locate import download_dir, locate_dataset
from sample_data.online_retail import load_online_retail
from settings import Settings

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"

DAILY_FILES = {
    "2010-12-01.csv": HEADER
    + "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
    + "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom\n",
    "2010-12-02.csv": HEADER
    + "536557,21495,SKULLS AND CROSSBONES WRAP,25,2010-12-02 10:26:00,0.42,17841.0,United Kingdom\n"
    + "C536558,21495,SKULLS AND CROSSBONES WRAP,-1,2010-12-02 10:27:00,0.42,17841.0,United Kingdom\n",
    "2010-12-03.csv": HEADER
    + "536590,22423,REGENCY CAKESTAND 3 TIER,1,2010-12-03 11:00:00,12.75,,United Kingdom\n",
}


class LoopbackServer:
    """An HTTP server on 127.0.0.1 that serves fixed bodies and records the requested paths.

    failures maps a path to a list of status codes to send before the body, for example [503].
    delay_s makes every response wait, to trigger client timeouts.
    """

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.failures: dict[str, list[int]] = {}
        self.delay_s = 0.0
        self.requests: Counter[str] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown, and so each test's teardown, fast.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.lstrip("/")
                server.requests[path] += 1
                if server.delay_s:
                    time.sleep(server.delay_s)

                pending = server.failures.get(path)
                if pending:
                    self.send_error(pending.pop(0))
                    return
                if path not in server.bodies:
                    self.send_error(404)
                    return

                body = server.bodies[path]
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    loopback = LoopbackServer()
    for name, text in DAILY_FILES.items():
        loopback.bodies[name] = text.encode()
    loopback.start()
    yield loopback
    loopback.stop()


def entry_for(server: LoopbackServer, name: str, body: bytes | None = None) -> ManifestEntry:
    body = server.bodies[name] if body is None else body
    return ManifestEntry(file=name, size=len(body), sha256=hashlib.sha256(body).hexdigest(), url=server.url(name))


def write_manifest(path: Path, entries: list[ManifestEntry]) -> Path:
    lines = ["file,bytes,sha256,url"]
    lines += [f"{entry.file},{entry.size},{entry.sha256},{entry.url}" for entry in entries]
    path.write_text("\n".join(lines) + "\n")
    return path


def leftover_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_download_files_verified(server: LoopbackServer, tmp_path: Path) -> None:
    entries = [entry_for(server, name) for name in DAILY_FILES]
    dest = tmp_path / "cache"

    paths = download_files(entries, dest, backoff_s=0.01)

    assert paths == [dest / name for name in DAILY_FILES]
    for name, text in DAILY_FILES.items():
        assert (dest / name).read_bytes() == text.encode()
    assert leftover_files(dest) == sorted(DAILY_FILES)
    assert all(server.requests[name] == 1 for name in DAILY_FILES)


def test_download_skips_verified_cache(server: LoopbackServer, tmp_path: Path) -> None:
    entries = [entry_for(server, name) for name in DAILY_FILES]
    dest = tmp_path / "cache"
    download_files(entries, dest)
    requests_after_first_run = sum(server.requests.values())

    paths = download_files(entries, dest)

    assert paths == [dest / name for name in DAILY_FILES]
    assert requests_after_first_run == len(DAILY_FILES)
    assert sum(server.requests.values()) == len(DAILY_FILES)


def test_download_wrong_sha256_raises(server: LoopbackServer, tmp_path: Path) -> None:
    good = entry_for(server, "2010-12-01.csv")
    wrong = ManifestEntry(file=good.file, size=good.size, sha256="0" * 64, url=good.url)
    dest = tmp_path / "cache"

    with pytest.raises(ChecksumMismatchError) as raised:
        download_files([wrong], dest)

    message = str(raised.value)
    assert "2010-12-01.csv" in message
    assert "0" * 64 in message
    assert good.sha256 in message
    assert "Nothing was saved" in message
    assert leftover_files(dest) == []


def test_download_wrong_size_raises(server: LoopbackServer, tmp_path: Path) -> None:
    good = entry_for(server, "2010-12-01.csv")
    short = ManifestEntry(file=good.file, size=good.size - 10, sha256=good.sha256, url=good.url)
    dest = tmp_path / "cache"

    with pytest.raises(ChecksumMismatchError) as raised:
        download_file(short, dest)

    assert f"size more than {good.size - 10} bytes" in str(raised.value)
    assert leftover_files(dest) == []


def test_download_short_body_raises(server: LoopbackServer, tmp_path: Path) -> None:
    good = entry_for(server, "2010-12-01.csv")
    long = ManifestEntry(file=good.file, size=good.size + 10, sha256=good.sha256, url=good.url)
    dest = tmp_path / "cache"

    with pytest.raises(ChecksumMismatchError) as raised:
        download_file(long, dest)

    assert f"size {good.size} bytes, SHA-256 {good.sha256}" in str(raised.value)
    assert f"expected size {good.size + 10} bytes" in str(raised.value)
    assert leftover_files(dest) == []


def test_download_corrupt_cache_raises(server: LoopbackServer, tmp_path: Path) -> None:
    entry = entry_for(server, "2010-12-01.csv")
    dest = tmp_path / "cache"
    dest.mkdir()
    (dest / entry.file).write_text("edited by hand\n")

    with pytest.raises(ChecksumMismatchError) as raised:
        download_file(entry, dest)

    message = str(raised.value)
    assert str(dest / entry.file) in message
    assert entry.sha256 in message
    assert "Delete" in message
    assert server.requests[entry.file] == 0


def test_download_404_raises_without_retry(server: LoopbackServer, tmp_path: Path) -> None:
    missing = ManifestEntry(file="2099-01-01.csv", size=1, sha256="0" * 64, url=server.url("2099-01-01.csv"))
    dest = tmp_path / "cache"

    with pytest.raises(DownloadError) as raised:
        download_file(missing, dest, backoff_s=0.01)

    message = str(raised.value)
    assert "HTTP 404" in message
    assert "2099-01-01.csv" in message
    assert server.requests["2099-01-01.csv"] == 1
    assert leftover_files(dest) == []


def test_download_retries_server_error(server: LoopbackServer, tmp_path: Path) -> None:
    entry = entry_for(server, "2010-12-02.csv")
    server.failures[entry.file] = [503, 502]

    path = download_file(entry, tmp_path, max_attempts=3, backoff_s=0.01)

    assert path.read_bytes() == server.bodies[entry.file]
    assert server.requests[entry.file] == 3


def test_download_gives_up_after_max_attempts(server: LoopbackServer, tmp_path: Path) -> None:
    entry = entry_for(server, "2010-12-02.csv")
    server.failures[entry.file] = [500, 500, 500]

    with pytest.raises(DownloadError) as raised:
        download_file(entry, tmp_path, max_attempts=2, backoff_s=0.01)

    assert "after 2 attempts" in str(raised.value)
    assert server.requests[entry.file] == 2
    assert leftover_files(tmp_path) == []


def test_download_timeout_is_retried_then_raised(server: LoopbackServer, tmp_path: Path) -> None:
    entry = entry_for(server, "2010-12-03.csv")
    server.delay_s = 1.0

    with pytest.raises(DownloadError) as raised:
        download_file(entry, tmp_path, timeout_s=0.2, max_attempts=2, backoff_s=0.01)

    assert "after 2 attempts" in str(raised.value)
    assert server.requests[entry.file] == 2


def test_download_connection_refused(tmp_path: Path) -> None:
    # Bind and close a socket to get a loopback port that nothing listens on.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    entry = ManifestEntry(file="2010-12-01.csv", size=1, sha256="0" * 64, url=f"http://127.0.0.1:{port}/2010-12-01.csv")

    with pytest.raises(DownloadError) as raised:
        download_file(entry, tmp_path, max_attempts=2, backoff_s=0.01)

    assert "Check the network connection" in str(raised.value)
    assert leftover_files(tmp_path) == []


def test_read_manifest_round_trip(server: LoopbackServer, tmp_path: Path) -> None:
    entries = [entry_for(server, name) for name in DAILY_FILES]

    parsed = read_manifest(write_manifest(tmp_path / "manifest.csv", entries))

    assert parsed == entries


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("../escape.csv,10,{digest},http://127.0.0.1/x", "invalid file name"),
        ("a.csv,ten,{digest},http://127.0.0.1/x", "invalid byte count"),
        ("a.csv,10,abc,http://127.0.0.1/x", "invalid SHA-256"),
        ("a.csv,10,{digest},", "empty url"),
    ],
)
def test_read_manifest_invalid_row(tmp_path: Path, row: str, expected: str) -> None:
    path = tmp_path / "manifest.csv"
    path.write_text("file,bytes,sha256,url\n" + row.format(digest="a" * 64) + "\n")

    with pytest.raises(ValueError) as raised:
        read_manifest(path)

    assert expected in str(raised.value)
    assert "line 2" in str(raised.value)


def test_locate_downloads_without_shared_folder(server: LoopbackServer, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "manifest.csv", [entry_for(server, name) for name in DAILY_FILES])
    settings = Settings(data_dir=None, cache_dir=tmp_path / "cache")

    files = locate_dataset(settings, shared_data_dir=tmp_path / "no-shared-folder", manifest_path=manifest)
    data = load_online_retail(files)

    assert files.source == "download"
    assert files.paths == tuple(download_dir(settings) / name for name in DAILY_FILES)
    assert [product.doc_id for product in data.catalog] == ["21495", "22423", "71053", "85123A"]
    assert [purchase.event_id for purchase in data.purchases] == ["retail-536365-0", "retail-536365-1", "retail-536557-0"]
