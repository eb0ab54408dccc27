"""Per-user profiles, item popularity and the event clock in Redis: key layout, writes and the serving read."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import redis as redis_lib
from redis.client import Pipeline

from rankers.profile import UserProfile

logger = logging.getLogger(__name__)

USER_KEY_PREFIX = "tailor:user:"
POPULARITY_KEY = "tailor:item:popularity"
# Largest event timestamp applied so far, in epoch seconds: the "now" of popularity decay.
CLOCK_KEY = "tailor:clock"
EVENT_MARKER_PREFIX = "tailor:event:"

# Marks the events applied, adds the popularity increments and raises the clock, in one command
# instead of one per event, which keeps a large batch cheap to send and parse.
# KEYS: clock, popularity, then one marker per event. ARGV: marker TTL in seconds, the max event
# timestamp ('' for none), then doc id and increment pairs. The clock only moves forward, so
# concurrent consumers never move it back.
_APPLY_SCRIPT = """
for i = 3, #KEYS do
    redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1])
end
for i = 3, #ARGV, 2 do
    redis.call('ZINCRBY', KEYS[2], ARGV[i + 1], ARGV[i])
end
if ARGV[2] ~= '' then
    local current = redis.call('GET', KEYS[1])
    if not current or tonumber(current) < tonumber(ARGV[2]) then
        redis.call('SET', KEYS[1], ARGV[2])
    end
end
return 0
"""


def user_key(user_id: str) -> str:
    """Return the key of the JSON profile of `user_id`."""
    return USER_KEY_PREFIX + user_id


def event_marker_key(event_id: str) -> str:
    """Return the key marking `event_id` as applied, which makes redelivery harmless."""
    return EVENT_MARKER_PREFIX + event_id


@dataclass(frozen=True)
class FeatureSnapshot:
    """The stored features the search API reads to rank one request.

    `popularity_scores` are the raw stored scores in the order of the requested doc ids, with None for
    an item never bought. `rankers.popularity.decayed_popularity(score, now, ...)` turns one into a
    feature. `now` is the latest event time applied, or None before any event.
    """

    profile: UserProfile | None
    popularity_scores: list[float | None]
    now: float | None


@dataclass(frozen=True)
class FeatureUpdate:
    """Writes produced by applying a group of new events, committed together by `stage_update`.

    `profile` is None when the events did not change any profile (anonymous events, impressions).
    `popularity_increments` maps doc ids to the amount added to their popularity score.
    """

    profile: UserProfile | None
    event_ids: tuple[str, ...]
    popularity_increments: Mapping[str, float]
    max_timestamp: float | None


def fetch(redis: redis_lib.Redis, user_id: str | None, doc_ids: Sequence[str]) -> FeatureSnapshot:
    """Read the user's profile, the items' popularity scores and the clock in one round trip."""
    pipe = redis.pipeline(transaction=False)
    if user_id is not None:
        pipe.get(user_key(user_id))
    if doc_ids:
        pipe.zmscore(POPULARITY_KEY, list(doc_ids))
    pipe.get(CLOCK_KEY)
    results = pipe.execute()

    raw_profile = results.pop(0) if user_id is not None else None
    scores = results.pop(0) if doc_ids else []
    raw_clock = results.pop(0)

    return FeatureSnapshot(
        profile=parse_profile(raw_profile, user_id) if user_id is not None else None,
        popularity_scores=[None if score is None else float(score) for score in scores],
        now=None if raw_clock is None else float(raw_clock),
    )


def parse_profile(raw: bytes | str | None, user_id: str) -> UserProfile | None:
    """Rebuild a stored profile; an unreadable one is logged and treated as missing."""
    if raw is None:
        return None

    try:
        return UserProfile.from_json(raw)
    except (ValueError, KeyError, TypeError) as exc:
        logger.error("User %s has an unreadable profile in Redis and is treated as new: %s", user_id, exc)
        return None


def watched_keys(user_id: str | None, event_ids: Iterable[str]) -> list[str]:
    """Return the keys a consumer must WATCH before applying events of one user."""
    keys = [event_marker_key(event_id) for event_id in event_ids]
    if user_id is not None:
        keys.append(user_key(user_id))

    return keys


def read_states(
    pipe: Pipeline,
    groups: Sequence[tuple[str | None, Sequence[str]]],
) -> list[tuple[UserProfile | None, list[bool]]]:
    """Read, for each (user id, event ids) group, the profile and which events were already applied.

    All groups are read with one MGET, on a pipeline in WATCH mode over their `watched_keys`.
    """
    keys: list[str] = []
    for user_id, event_ids in groups:
        keys.extend(watched_keys(user_id, event_ids))
    values = pipe.mget(keys) if keys else []

    states = []
    position = 0
    for user_id, event_ids in groups:
        markers = values[position : position + len(event_ids)]
        position += len(event_ids)
        profile = None
        if user_id is not None:
            profile = parse_profile(values[position], user_id)
            position += 1
        states.append((profile, [marker is not None for marker in markers]))

    return states


def stage_update(
    pipe: Pipeline,
    update: FeatureUpdate,
    *,
    user_ttl_s: int,
    dedupe_ttl_s: int,
) -> None:
    """Queue the writes of one update on a pipeline after MULTI; EXEC applies all of them or none."""
    if update.profile is not None:
        pipe.set(user_key(update.profile.user_id), update.profile.to_json(), ex=user_ttl_s)

    keys = [CLOCK_KEY, POPULARITY_KEY, *(event_marker_key(event_id) for event_id in update.event_ids)]
    args: list[str | int] = [dedupe_ttl_s, "" if update.max_timestamp is None else repr(update.max_timestamp)]
    for doc_id, increment in update.popularity_increments.items():
        args.extend((doc_id, repr(increment)))

    pipe.eval(_APPLY_SCRIPT, len(keys), *keys, *args)
