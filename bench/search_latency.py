"""Benchmark: plain Elasticsearch retrieval against the full personalized search, in one run."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import random
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from elasticsearch import Elasticsearch

from rankers.queries import derive_query
from rankers.retrieval import build_search_body
from sample_data.online_retail import load_online_retail
from search_api.app import create_app
from settings import REPO_ROOT, get_settings

logger = logging.getLogger(__name__)

PAGE_SIZE = 10


def sample_requests(count: int, seed: int) -> list[tuple[str, str]]:
    """Pick (user_id, query) pairs from the last month of real purchases by returning customers."""
    retail = load_online_retail()
    titles = {p.doc_id: p.title for p in retail.catalog}
    since = retail.time_range[1] - 28 * 86400
    seen_before = {p.user_id for p in retail.purchases if p.timestamp < since}

    pairs = []
    for purchase in retail.purchases:
        if purchase.timestamp < since or purchase.user_id not in seen_before:
            continue
        query = derive_query(titles.get(purchase.doc_id, ""), purchase.event_id)
        if query:
            pairs.append((purchase.user_id, query))

    return random.Random(seed).sample(pairs, min(count, len(pairs)))


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0 to 100) by linear interpolation."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)

    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timed_ms(call: Callable[[], object]) -> float:
    """Run `call` once and return its wall time in milliseconds."""
    started = time.perf_counter()
    call()

    return (time.perf_counter() - started) * 1000.0


def machine_description() -> str:
    """Describe the CPU, core count and memory of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30

    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB"


def main() -> None:
    """Measure both paths on the same requests, interleaved, and print or record the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300, help="Distinct (user, query) pairs.")
    parser.add_argument("--rounds", type=int, default=3, help="Timed passes over all pairs.")
    parser.add_argument("--warmup", type=int, default=50, help="Untimed requests per path first.")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--write", type=Path, help="Write the Markdown record to this file.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    settings = get_settings()
    es = Elasticsearch(settings.es_url, request_timeout=settings.es_timeout_s)
    app = create_app(settings)
    client = app.test_client()
    pairs = sample_requests(args.requests, args.seed)

    def plain(query: str) -> None:
        es.search(index=settings.index_alias, body=build_search_body(query, PAGE_SIZE))

    def plain_window(query: str) -> None:
        es.search(index=settings.index_alias, body=build_search_body(query, settings.window_size))

    stage_ms: dict[str, list[float]] = {"retrieval": [], "features": [], "rerank": []}
    personalized = 0

    def full(user_id: str, query: str) -> None:
        nonlocal personalized
        response = client.get("/v1/search", query_string={"q": query, "user_id": user_id, "size": PAGE_SIZE})
        body = response.get_json()
        if response.status_code != 200:
            raise RuntimeError(f"Search for {query!r} failed with HTTP {response.status_code}: {body}")
        personalized += bool(body["personalized"])
        for stage in stage_ms:
            stage_ms[stage].append(body["timings_ms"][stage])

    # Warm both paths (caches, JIT, connection pools) before timing.
    for user_id, query in pairs[: args.warmup]:
        plain(query)
        plain_window(query)
        full(user_id, query)
    for values in stage_ms.values():
        values.clear()
    personalized = 0

    # Interleave the two paths per request so drift in the machine's load hits both alike.
    plain_ms: list[float] = []
    window_ms: list[float] = []
    full_ms: list[float] = []
    for _ in range(args.rounds):
        for user_id, query in pairs:
            plain_ms.append(timed_ms(lambda q=query: plain(q)))  # type: ignore[misc]
            window_ms.append(timed_ms(lambda q=query: plain_window(q)))  # type: ignore[misc]
            full_ms.append(timed_ms(lambda u=user_id, q=query: full(u, q)))  # type: ignore[misc]

    p50_plain, p99_plain = percentile(plain_ms, 50), percentile(plain_ms, 99)
    p50_window, p99_window = percentile(window_ms, 50), percentile(window_ms, 99)
    p50_full, p99_full = percentile(full_ms, 50), percentile(full_ms, 99)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()

    stage_lines = "\n".join(
        f"| {stage} | {statistics.median(values):.2f} | {percentile(values, 99):.2f} |"
        for stage, values in stage_ms.items()
    )
    record = f"""## Search latency: plain retrieval vs full personalized search

- Run: `python bench/search_latency.py` ({len(pairs)} (user, query) pairs x {args.rounds} rounds,
  {args.warmup} warm-up requests per path), commit {commit or "unknown"}, {dt.date.today()}.
- Machine: {machine_description()}; Python {platform.python_version()}; one local Elasticsearch node
  and Redis on loopback, as started by `devtools/services start`.
- Requests: returning customers' purchases from the last 28 days of the data, each turned into a query
  by the training rule; {personalized} of {len(full_ms)} full searches were personalized.
- Plain: `es.search` with the same query body through the Python client, for the page (top
  {PAGE_SIZE}) and for the whole window (top {settings.window_size}). Full: `GET /v1/search` through the
  Flask app in-process (parameter parsing, retrieval of the top {settings.window_size} with per-clause
  scores, one Redis round trip, features, LightGBM scoring, JSON), page size {PAGE_SIZE}. The three
  alternate request by request.

| path | p50 ms | p99 ms |
|---|---:|---:|
| plain retrieval of the page (top {PAGE_SIZE}) | {p50_plain:.2f} | {p99_plain:.2f} |
| plain retrieval of the window (top {settings.window_size}) | {p50_window:.2f} | {p99_window:.2f} |
| full personalized search (window {settings.window_size}) | {p50_full:.2f} | {p99_full:.2f} |
| ratio full / plain page | {p50_full / p50_plain:.2f}x | {p99_full / p99_plain:.2f}x |
| ratio full / plain window | {p50_full / p50_window:.2f}x | {p99_full / p99_window:.2f}x |

Stages of the full search (from the response's `timings_ms`):

| stage | p50 ms | p99 ms |
|---|---:|---:|
{stage_lines}
"""
    print(record)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text("# Benchmarks\n\n" + record)


if __name__ == "__main__":
    main()
