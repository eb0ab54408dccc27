"""Tests of the Redis feature store: key layout, staged writes and the one-round-trip serving read."""

from __future__ import annotations

import pytest
import redis
from redis.connection import Connection

from rankers import feature_store
from rankers.feature_store import FeatureUpdate
from rankers.profile import UserProfile

T0 = 1_300_000_000.0


def make_profile(user_id: str) -> UserProfile:
    profile = UserProfile(user_id=user_id)
    profile.apply("purchase", "a", T0, 2.5, 90.0, 200)
    profile.apply("click", "b", T0 + 60, None, 90.0, 200)
    return profile


def stage(redis_client: redis.Redis, update: FeatureUpdate, user_ttl_s: int = 3600, dedupe_ttl_s: int = 600) -> None:
    pipe = redis_client.pipeline(transaction=True)
    feature_store.stage_update(pipe, update, user_ttl_s=user_ttl_s, dedupe_ttl_s=dedupe_ttl_s)
    pipe.execute()


def test_fetch_empty_store(redis_db: redis.Redis) -> None:
    snapshot = feature_store.fetch(redis_db, "u1", ["a", "b"])

    assert snapshot.profile is None
    assert snapshot.popularity_scores == [None, None]
    assert snapshot.now is None


def test_fetch_returns_staged_state(redis_db: redis.Redis) -> None:
    profile = make_profile("u1")
    stage(
        redis_db,
        FeatureUpdate(
            profile=profile, event_ids=("e1", "e2"), popularity_increments={"a": 2.0, "c": 0.5}, max_timestamp=T0 + 60
        ),
    )

    snapshot = feature_store.fetch(redis_db, "u1", ["c", "missing", "a"])

    assert snapshot.profile == profile
    assert snapshot.popularity_scores == [0.5, None, 2.0]
    assert snapshot.now == T0 + 60


def test_fetch_anonymous_and_no_docs(redis_db: redis.Redis) -> None:
    stage(redis_db, FeatureUpdate(profile=make_profile("u1"), event_ids=(), popularity_increments={}, max_timestamp=T0))

    snapshot = feature_store.fetch(redis_db, None, [])

    assert snapshot.profile is None
    assert snapshot.popularity_scores == []
    assert snapshot.now == T0


def test_fetch_one_round_trip(redis_url_for_tests: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = redis.Redis.from_url(redis_url_for_tests)
    client.ping()  # opens the connection, whose handshake would otherwise be counted
    sends: list[int] = []
    original = Connection.send_packed_command

    def counting_send(self: Connection, command: object, check_health: bool = True) -> None:
        sends.append(1)
        original(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting_send)
    feature_store.fetch(client, "u1", ["a", "b", "c"])

    assert len(sends) == 1


def test_unreadable_profile_treated_as_missing(redis_db: redis.Redis) -> None:
    redis_db.set(feature_store.user_key("u1"), "{not json")

    snapshot = feature_store.fetch(redis_db, "u1", ["a"])

    assert snapshot.profile is None


def test_stage_sets_ttls(redis_db: redis.Redis) -> None:
    stage(
        redis_db,
        FeatureUpdate(profile=make_profile("u1"), event_ids=("e1",), popularity_increments={}, max_timestamp=T0),
        user_ttl_s=1000,
        dedupe_ttl_s=100,
    )

    assert 990 <= redis_db.ttl(feature_store.user_key("u1")) <= 1000
    assert 90 <= redis_db.ttl(feature_store.event_marker_key("e1")) <= 100


def test_clock_never_moves_back(redis_db: redis.Redis) -> None:
    for timestamp in (T0 + 100, T0, T0 + 50):
        stage(redis_db, FeatureUpdate(profile=None, event_ids=(), popularity_increments={}, max_timestamp=timestamp))

    assert feature_store.fetch(redis_db, None, []).now == T0 + 100


def test_popularity_increments_add_up(redis_db: redis.Redis) -> None:
    for _ in range(3):
        stage(redis_db, FeatureUpdate(profile=None, event_ids=(), popularity_increments={"a": 1.5}, max_timestamp=None))

    assert feature_store.fetch(redis_db, None, ["a"]).popularity_scores == [4.5]


def test_read_states_reports_applied_markers(redis_db: redis.Redis) -> None:
    stage(
        redis_db,
        FeatureUpdate(profile=make_profile("u1"), event_ids=("e1",), popularity_increments={}, max_timestamp=T0),
    )
    groups = [("u1", ["e1", "e2"]), (None, ["e3", "e1"]), ("u2", [])]

    with redis_db.pipeline() as pipe:
        pipe.watch(*[key for user_id, ids in groups for key in feature_store.watched_keys(user_id, ids)])
        states = feature_store.read_states(pipe, groups)

    assert states[0] == (make_profile("u1"), [True, False])
    assert states[1] == (None, [False, True])
    assert states[2] == (None, [])
