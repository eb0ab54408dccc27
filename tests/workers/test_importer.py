"""Tests of the historical import: purchases become stream events that the consumer turns into profiles."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis
from click.testing import CliRunner
from rq import Queue, SimpleWorker

from rankers import feature_store
from sample_data.locate import CONCATENATED_FILE, DatasetFiles, default_shared_data_dir
from sample_data.online_retail import Purchase, load_online_retail
from settings import Settings, get_settings
from workers.__main__ import cli
from workers.importer import import_purchases, purchase_to_event, select_purchases

SHARED_FILE = default_shared_data_dir() / CONCATENATED_FILE
LIMIT = 500


@pytest.fixture
def settings(redis_url_for_tests: str, unique_name: str) -> Settings:
    return Settings(redis_url=redis_url_for_tests, stream_key=f"tailor:events:{unique_name}", queue_name=unique_name)


@pytest.fixture
def env_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Point the command line, which reads its settings from the environment, at the test database."""
    monkeypatch.setenv("TAILOR_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("TAILOR_STREAM_KEY", settings.stream_key)
    monkeypatch.setenv("TAILOR_QUEUE_NAME", settings.queue_name)
    monkeypatch.setenv("TAILOR_DATA_DIR", str(SHARED_FILE.parents[2]))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def drain(redis_url: str, settings: Settings) -> None:
    client = redis.Redis.from_url(redis_url)
    SimpleWorker([Queue(settings.queue_name, connection=client)], connection=client).work(burst=True)


def make_purchase(index: int, timestamp: float, price: float = 2.0) -> Purchase:
    return Purchase(
        event_id=f"retail-{index}",
        invoice_no=str(index),
        user_id=f"u{index % 3}",
        doc_id=f"d{index}",
        quantity=2,
        price=price,
        timestamp=timestamp,
    )


def test_purchase_to_event_keeps_fields() -> None:
    purchase = make_purchase(7, 1_300_000_000.0)

    assert purchase_to_event(purchase) == {
        "event_id": "retail-7",
        "type": "purchase",
        "user_id": "u1",
        "doc_id": "d7",
        "quantity": 2,
        "price": 2.0,
        "timestamp": 1_300_000_000.0,
    }


def test_select_until_and_limit() -> None:
    purchases = [make_purchase(i, 1000.0 + i) for i in range(10)]

    selected = list(select_purchases(purchases, until=1005.0, limit=3))
    before = list(select_purchases(purchases, until=1005.0))

    assert [p.event_id for p in selected] == ["retail-0", "retail-1", "retail-2"]
    assert len(before) == 5


def test_import_counts_rejections(redis_db: redis.Redis, redis_url_for_tests: str, settings: Settings) -> None:
    client = redis.Redis.from_url(redis_url_for_tests)
    purchases = [make_purchase(i, 1_300_000_000.0 + i, price=0.0 if i == 4 else 2.0) for i in range(7)]

    report = import_purchases(client, settings, purchases, batch_size=3)

    assert report.appended == 6
    assert report.rejected == 1
    assert [(error.index, error.event_id) for error in report.rejection_examples] == [(4, "retail-4")]
    assert report.jobs_enqueued == 1
    assert client.xlen(settings.stream_key) == 6


@pytest.mark.skipif(not SHARED_FILE.is_file(), reason=f"{SHARED_FILE} is missing")
def test_cli_import_real_slice(redis_db: redis.Redis, redis_url_for_tests: str, env_settings: Settings) -> None:
    result = CliRunner().invoke(cli, ["import-history", "--limit", str(LIMIT), "--batch-size", "200"])
    assert result.exit_code == 0, result.output
    drain(redis_url_for_tests, env_settings)

    expected_users = {
        p.user_id for p in load_online_retail(DatasetFiles(paths=(SHARED_FILE,), source="shared")).purchases[:LIMIT]
    }
    stored = {
        bytes(key).decode().removeprefix(feature_store.USER_KEY_PREFIX)
        for key in redis_db.keys(feature_store.USER_KEY_PREFIX + "*")
    }
    assert redis_db.xlen(env_settings.stream_key) == LIMIT
    assert stored == expected_users
    assert f"Appended {LIMIT} purchase events" in result.output


def test_cli_import_skips_consumed_history(
    redis_db: redis.Redis, redis_url_for_tests: str, env_settings: Settings
) -> None:
    first = CliRunner().invoke(cli, ["import-history", "--limit", str(LIMIT)])
    assert first.exit_code == 0, first.output
    drain(redis_url_for_tests, env_settings)

    again = CliRunner().invoke(cli, ["import-history", "--limit", str(LIMIT)])
    forced = CliRunner().invoke(cli, ["import-history", "--limit", str(LIMIT), "--force"])

    assert again.exit_code == 0, again.output
    assert "nothing appended" in again.output
    assert forced.exit_code == 0, forced.output
    assert redis_db.xlen(env_settings.stream_key) == 2 * LIMIT


def test_cli_import_shift_to_now_ends_now(redis_db: redis.Redis, env_settings: Settings) -> None:
    before = time.time()
    result = CliRunner().invoke(cli, ["import-history", "--limit", str(LIMIT), "--shift-to-now"])
    assert result.exit_code == 0, result.output

    entries = redis_db.xrange(env_settings.stream_key)
    timestamps = [json.loads(fields[b"event"])["timestamp"] for _, fields in entries]
    assert "so the history ends now" in result.output
    assert min(timestamps) > before - 400 * 86400
    assert max(timestamps) <= time.time()


def test_cli_reports_unreachable_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILOR_REDIS_URL", "redis://:secret@127.0.0.1:1/0")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["drain"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 1
    assert "Redis at redis://:***@127.0.0.1:1/0 is unreachable" in result.output
    assert "secret" not in result.output
