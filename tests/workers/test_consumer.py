"""Tests of the stream consumer against real Redis: same features as a direct fold, exactly-once effects."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import pytest
import redis

from rankers import feature_store
from rankers.popularity import popularity_increment
from rankers.profile import UserProfile
from settings import Settings
from workers import consumer, stream
from workers.consumer import consume
from workers.events import Event, validate_events

T0 = 1_300_000_000.0


@pytest.fixture
def settings(redis_url_for_tests: str, unique_name: str) -> Settings:
    return Settings(
        redis_url=redis_url_for_tests,
        stream_key=f"tailor:events:{unique_name}",
        queue_name=unique_name,
        consumer_batch_size=7,
        user_max_items=5,
    )


def make_events() -> list[dict[str, Any]]:
    """Events of three users and anonymous visitors, in time order, with enough items to trigger trimming."""
    raw: list[dict[str, Any]] = []
    for step in range(40):
        user = f"u{step % 3}"
        timestamp = T0 + step * 3600.0
        doc = f"d{step % 9}"
        kind = ("purchase", "click", "view", "add_to_cart", "impression")[step % 5]
        event: dict[str, Any] = {"event_id": f"e{step}", "type": kind, "timestamp": timestamp, "user_id": user}
        if kind == "purchase":
            event.update(doc_id=doc, quantity=1 + step % 4, price=1.0 + step)
        elif kind == "click":
            event.update(doc_id=doc, search_id=f"s{step}", position=1 + step % 10)
        elif kind == "impression":
            event.update(search_id=f"s{step}", query="mug", doc_ids=[doc, "d0"])
        elif kind == "add_to_cart":
            event.update(doc_id=doc, price=3.0)
        else:
            event.update(doc_id=doc)
        raw.append(event)

    raw.append(
        {"event_id": "anon-1", "type": "purchase", "timestamp": T0 + 50.0, "doc_id": "d1", "quantity": 2, "price": 4.0}
    )
    raw.append(
        {
            "event_id": "imp-only",
            "type": "impression",
            "timestamp": T0 + 60.0,
            "user_id": "watcher",
            "search_id": "s",
            "query": "",
            "doc_ids": ["d1"],
        }
    )
    return raw


def validated(raw: list[dict[str, Any]]) -> list[Event]:
    events, rejected = validate_events(raw)
    assert rejected == []
    return events


def direct_fold(events: list[Event], settings: Settings) -> tuple[dict[str, UserProfile], dict[str, float], float]:
    """Fold the events straight through UserProfile.apply and popularity_increment, as training does."""
    profiles: dict[str, UserProfile] = {}
    popularity: dict[str, float] = defaultdict(float)
    for event in sorted(events, key=lambda event: event.timestamp):
        if event.type == "purchase":
            popularity[event.doc_id] += popularity_increment(event.timestamp, settings.popularity_half_life_days)
        if event.user_id is None or event.type == "impression":
            continue
        profile = profiles.setdefault(event.user_id, UserProfile(user_id=event.user_id))
        profile.apply(
            event.type,
            event.doc_id,
            event.timestamp,
            getattr(event, "price", None),
            settings.affinity_half_life_days,
            settings.user_max_items,
        )
    return profiles, dict(popularity), max(event.timestamp for event in events)


def store_state(client: redis.Redis) -> dict[str, Any]:
    """Everything the consumer writes except the markers' remaining TTLs."""
    keys = sorted(key.decode() if isinstance(key, bytes) else key for key in client.keys("tailor:user:*"))
    return {
        "profiles": {key: client.get(key) for key in keys},
        "popularity": client.zrange(feature_store.POPULARITY_KEY, 0, -1, withscores=True),
        "clock": client.get(feature_store.CLOCK_KEY),
        "markers": len(client.keys(feature_store.EVENT_MARKER_PREFIX + "*")),
    }


def test_consumer_matches_direct_fold(redis_db: redis.Redis, settings: Settings) -> None:
    events = validated(make_events())
    stream.append_events(redis_db, events, settings)

    report = consume(redis_db, settings, "c1", max_events=1000)

    profiles, popularity, clock = direct_fold(events, settings)
    assert report.read == len(events)
    assert report.applied == len(events)
    assert report.duplicates == 0
    assert report.acked == len(events)
    assert not report.budget_exhausted
    for user_id, expected in profiles.items():
        stored = feature_store.fetch(redis_db, user_id, []).profile
        assert stored == expected, user_id
    snapshot = feature_store.fetch(redis_db, None, sorted(popularity))
    assert snapshot.popularity_scores == pytest.approx([popularity[doc] for doc in sorted(popularity)], rel=1e-12)
    assert snapshot.now == clock


def test_impressions_create_no_profile(redis_db: redis.Redis, settings: Settings) -> None:
    stream.append_events(redis_db, validated(make_events()), settings)

    consume(redis_db, settings, "c1", max_events=1000)

    assert redis_db.exists(feature_store.user_key("watcher")) == 0
    assert redis_db.exists(feature_store.event_marker_key("imp-only")) == 1


def test_anonymous_purchase_updates_popularity_only(redis_db: redis.Redis, settings: Settings) -> None:
    raw = [{"event_id": "anon", "type": "purchase", "timestamp": T0, "doc_id": "x", "quantity": 500, "price": 1.0}]
    stream.append_events(redis_db, validated(raw), settings)

    report = consume(redis_db, settings, "c1", max_events=10)

    snapshot = feature_store.fetch(redis_db, None, ["x"])
    assert report.applied == 1
    # One purchase line counts once, whatever its quantity.
    assert snapshot.popularity_scores == [popularity_increment(T0, settings.popularity_half_life_days)]
    assert snapshot.now == T0
    assert redis_db.keys("tailor:user:*") == []


def test_same_events_twice_change_nothing(redis_db: redis.Redis, settings: Settings) -> None:
    events = validated(make_events())
    stream.append_events(redis_db, events, settings)
    consume(redis_db, settings, "c1", max_events=1000)
    before = store_state(redis_db)

    stream.append_events(redis_db, events, settings)
    report = consume(redis_db, settings, "c1", max_events=1000)

    assert report.read == len(events)
    assert report.applied == 0
    assert report.duplicates == len(events)
    assert report.acked == len(events)
    assert store_state(redis_db) == before


def test_duplicate_within_one_batch_applied_once(redis_db: redis.Redis, settings: Settings) -> None:
    raw = [
        {
            "event_id": "e1",
            "type": "purchase",
            "timestamp": T0,
            "user_id": "u1",
            "doc_id": "a",
            "quantity": 1,
            "price": 2.0,
        }
    ]
    stream.append_events(redis_db, validated(raw * 3), settings)

    report = consume(redis_db, settings, "c1", max_events=10)

    profile = feature_store.fetch(redis_db, "u1", []).profile
    assert report.applied == 1
    assert report.duplicates == 2
    assert profile is not None
    assert profile.purchase_count == 1


def test_dead_consumer_entries_reclaimed(redis_db: redis.Redis, settings: Settings) -> None:
    settings = settings.model_copy(update={"consumer_claim_idle_ms": 50})
    events = validated(make_events())
    stream.append_events(redis_db, events, settings)
    stream.ensure_group(redis_db, settings)
    # This consumer takes every entry and dies before applying or acknowledging any.
    dead_consumer_entries = stream.read_new(redis_db, settings, "dead", count=1000)
    assert len(dead_consumer_entries) == len(events)

    early = consume(redis_db, settings, "alive", max_events=1000)
    time.sleep(0.1)
    late = consume(redis_db, settings, "alive", max_events=1000)

    profiles, _, _ = direct_fold(events, settings)
    assert early.read == 0
    assert late.read == len(events)
    assert late.applied == len(events)
    assert redis_db.xpending(settings.stream_key, settings.consumer_group)["pending"] == 0
    for user_id, expected in profiles.items():
        assert feature_store.fetch(redis_db, user_id, []).profile == expected


def test_invalid_entry_dropped_and_acked(redis_db: redis.Redis, settings: Settings) -> None:
    redis_db.xadd(settings.stream_key, {stream.EVENT_FIELD: '{"type": "view"}'})
    redis_db.xadd(settings.stream_key, {"other": "x"})
    stream.append_events(redis_db, validated(make_events()[:1]), settings)

    report = consume(redis_db, settings, "c1", max_events=10)

    assert report.read == 3
    assert report.invalid == 2
    assert report.applied == 1
    assert report.acked == 3


def test_budget_limits_read(redis_db: redis.Redis, settings: Settings) -> None:
    stream.append_events(redis_db, validated(make_events()), settings)

    first = consume(redis_db, settings, "c1", max_events=10)
    rest = consume(redis_db, settings, "c1", max_events=1000)

    assert first.read == 10
    assert first.budget_exhausted
    assert rest.read == len(make_events()) - 10
    assert not rest.budget_exhausted


def test_write_conflict_retried(
    redis_db: redis.Redis, redis_url_for_tests: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = [{"event_id": "e1", "type": "view", "timestamp": T0, "user_id": "u1", "doc_id": "a"}]
    stream.append_events(redis_db, validated(raw), settings)
    other_client = redis.Redis.from_url(redis_url_for_tests)
    original = feature_store.read_states
    calls: list[int] = []

    def interfering_read_states(pipe: Any, groups: Any) -> Any:
        # Another writer touches the watched profile between WATCH and EXEC, once.
        if not calls:
            other_client.set(feature_store.user_key("u1"), UserProfile(user_id="u1").to_json())
        calls.append(1)
        return original(pipe, groups)

    monkeypatch.setattr(feature_store, "read_states", interfering_read_states)
    report = consume(redis_db, settings, "c1", max_events=10)

    profile = feature_store.fetch(redis_db, "u1", []).profile
    assert len(calls) == 2
    assert report.applied == 1
    assert profile is not None
    assert profile.event_count == 1


def test_endless_conflicts_leave_entries_pending(
    redis_db: redis.Redis, redis_url_for_tests: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = [
        {"event_id": "e1", "type": "view", "timestamp": T0, "user_id": "u1", "doc_id": "a"},
        {"event_id": "e2", "type": "view", "timestamp": T0, "user_id": "u2", "doc_id": "a"},
    ]
    stream.append_events(redis_db, validated(raw), settings)
    other_client = redis.Redis.from_url(redis_url_for_tests)
    original = feature_store.read_states

    def interfering_read_states(pipe: Any, groups: Any) -> Any:
        # Another writer changes u1's profile every time, but never u2's.
        if any(user_id == "u1" for user_id, _ in groups):
            other_client.set(feature_store.user_key("u1"), UserProfile(user_id="u1").to_json())
        return original(pipe, groups)

    monkeypatch.setattr(feature_store, "read_states", interfering_read_states)
    report = consume(redis_db, settings, "c1", max_events=10)

    assert report.left_pending == 1
    assert report.applied == 1
    assert report.acked == 1
    assert feature_store.fetch(redis_db, "u2", []).profile is not None
    assert redis_db.xpending(settings.stream_key, settings.consumer_group)["pending"] == 1


def test_fold_events_skips_impressions() -> None:
    settings = Settings()
    events = validated([make_events()[4]])  # an impression

    assert consumer.fold_events(None, "u1", events, settings) is None


def test_redelivery_after_crash_before_ack(
    redis_db: redis.Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings.model_copy(update={"consumer_claim_idle_ms": 50})
    events = validated(make_events())
    stream.append_events(redis_db, events, settings)
    # The first consumer commits its writes but dies before XACK.
    with monkeypatch.context() as patch:
        patch.setattr(stream, "acknowledge", lambda *args: 0)
        crashed = consume(redis_db, settings, "crashed", max_events=1000)
    before = store_state(redis_db)
    time.sleep(0.1)

    report = consume(redis_db, settings, "alive", max_events=1000)

    assert crashed.applied == len(events)
    assert report.read == len(events)
    assert report.applied == 0
    assert report.duplicates == len(events)
    assert store_state(redis_db) == before
    assert redis_db.xpending(settings.stream_key, settings.consumer_group)["pending"] == 0
