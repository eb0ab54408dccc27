"""Tests of the event stream helpers against real Redis: append, group reads, claims and trimming."""

from __future__ import annotations

import time

import pytest
import redis

from settings import Settings
from workers import stream
from workers.events import Event, parse_event_json, validate_events

T0 = 1_300_000_000.0


@pytest.fixture
def settings(redis_url_for_tests: str, unique_name: str) -> Settings:
    return Settings(redis_url=redis_url_for_tests, stream_key=f"tailor:events:{unique_name}", queue_name=unique_name)


def views(count: int, prefix: str = "e") -> list[Event]:
    raw = [
        {"event_id": f"{prefix}{i}", "type": "view", "timestamp": T0 + i, "user_id": "u1", "doc_id": f"d{i}"}
        for i in range(count)
    ]
    events, rejected = validate_events(raw)
    assert rejected == []
    return events


def test_append_returns_ids_in_order(redis_db: redis.Redis, settings: Settings) -> None:
    events = views(5)

    entry_ids = stream.append_events(redis_db, events, settings)

    entries = redis_db.xrange(settings.stream_key)
    assert len(entry_ids) == 5
    assert redis_db.xlen(settings.stream_key) == 5
    assert [stream._text(entry_id) for entry_id, _ in entries] == entry_ids
    assert [parse_event_json(fields[b"event" if b"event" in fields else "event"]) for _, fields in entries] == events


def test_append_nothing(redis_db: redis.Redis, settings: Settings) -> None:
    assert stream.append_events(redis_db, [], settings) == []
    assert redis_db.exists(settings.stream_key) == 0


def test_append_trims_to_approximate_cap(redis_db: redis.Redis, settings: Settings) -> None:
    settings = settings.model_copy(update={"stream_max_len": 1000})

    for batch in range(5):
        stream.append_events(redis_db, views(1000, prefix=f"b{batch}-"), settings)

    length = redis_db.xlen(settings.stream_key)
    assert 1000 <= length < 2000


def test_ensure_group_twice(redis_db: redis.Redis, settings: Settings) -> None:
    stream.ensure_group(redis_db, settings)
    stream.ensure_group(redis_db, settings)

    groups = redis_db.xinfo_groups(settings.stream_key)
    assert len(groups) == 1


def test_group_created_late_reads_earlier_entries(redis_db: redis.Redis, settings: Settings) -> None:
    stream.append_events(redis_db, views(3), settings)
    stream.ensure_group(redis_db, settings)

    entries = stream.read_new(redis_db, settings, "c1", count=10)

    assert len(entries) == 3
    assert stream.read_new(redis_db, settings, "c1", count=10) == []


def test_acknowledge_clears_pending(redis_db: redis.Redis, settings: Settings) -> None:
    stream.append_events(redis_db, views(3), settings)
    stream.ensure_group(redis_db, settings)
    entries = stream.read_new(redis_db, settings, "c1", count=10)

    acked = stream.acknowledge(redis_db, settings, [entry.entry_id for entry in entries])

    assert acked == 3
    assert redis_db.xpending(settings.stream_key, settings.consumer_group)["pending"] == 0


def test_claim_only_idle_entries(redis_db: redis.Redis, settings: Settings) -> None:
    stream.append_events(redis_db, views(4), settings)
    stream.ensure_group(redis_db, settings)
    dead_consumer_entries = stream.read_new(redis_db, settings, "dead", count=10)

    assert stream.claim_stale(redis_db, settings, "alive", count=10) == []

    time.sleep(0.05)
    quick = settings.model_copy(update={"consumer_claim_idle_ms": 20})
    claimed = stream.claim_stale(redis_db, quick, "alive", count=3)
    claimed += stream.claim_stale(redis_db, quick, "alive", count=3)

    assert [entry.entry_id for entry in claimed] == [entry.entry_id for entry in dead_consumer_entries]
    assert [entry.payload for entry in claimed] == [entry.payload for entry in dead_consumer_entries]


def test_remove_consumer_only_when_idle(redis_db: redis.Redis, settings: Settings) -> None:
    stream.append_events(redis_db, views(2), settings)
    stream.ensure_group(redis_db, settings)
    entries = stream.read_new(redis_db, settings, "c1", count=10)

    assert not stream.remove_consumer_if_idle(redis_db, settings, "c1")

    stream.acknowledge(redis_db, settings, [entry.entry_id for entry in entries])

    assert stream.remove_consumer_if_idle(redis_db, settings, "c1")
    assert redis_db.xinfo_consumers(settings.stream_key, settings.consumer_group) == []
