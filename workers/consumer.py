"""The stream consumer: folds new events into user profiles and item popularity, skipping event ids already applied."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import redis as redis_lib
from pydantic import ValidationError

from rankers import feature_store
from rankers.feature_store import FeatureUpdate
from rankers.popularity import popularity_increment
from rankers.profile import UserProfile
from settings import Settings
from workers import stream
from workers.events import Event, parse_event_json
from workers.stream import StreamEntry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumeReport:
    """Counts of one `consume` call.

    `read` counts every entry taken from the stream (new or reclaimed). `applied` counts events written
    for the first time and `duplicates` those already applied before. `invalid` entries could not be
    parsed and were dropped. `left_pending` entries stayed unacknowledged after too many write
    conflicts and will be reclaimed later. `budget_exhausted` means `max_events` was reached, so more
    entries may be waiting.
    """

    read: int = 0
    applied: int = 0
    duplicates: int = 0
    acked: int = 0
    invalid: int = 0
    left_pending: int = 0
    budget_exhausted: bool = False


@dataclass(frozen=True)
class _BatchResult:
    applied: int
    duplicates: int
    acked: int
    invalid: int
    left_pending: int


class _TooManyConflicts(Exception):
    """Another client kept changing the watched keys; the events stay pending for a later attempt."""


def consume(redis: redis_lib.Redis, settings: Settings, consumer_name: str, max_events: int) -> ConsumeReport:
    """Apply stream entries in batches until none is left or `max_events` were read.

    Stale pending entries of dead consumers are claimed before new ones are read, so every entry is
    delivered at least once. Dedupe markers make a repeated delivery change nothing, as long as the
    marker of its event id has not expired (`event_dedupe_ttl_s`).
    """
    stream.ensure_group(redis, settings)
    read = applied = duplicates = acked = invalid = left_pending = 0

    while read < max_events:
        budget = min(settings.consumer_batch_size, max_events - read)
        entries = stream.claim_stale(redis, settings, consumer_name, budget)
        if not entries:
            entries = stream.read_new(redis, settings, consumer_name, budget)
        if not entries:
            break

        result = apply_entries(redis, settings, entries)
        read += len(entries)
        applied += result.applied
        duplicates += result.duplicates
        acked += result.acked
        invalid += result.invalid
        left_pending += result.left_pending

    report = ConsumeReport(
        read=read,
        applied=applied,
        duplicates=duplicates,
        acked=acked,
        invalid=invalid,
        left_pending=left_pending,
        budget_exhausted=read >= max_events,
    )
    logger.info("Consumer %s finished on stream %s: %s", consumer_name, settings.stream_key, report)

    return report


def apply_entries(redis: redis_lib.Redis, settings: Settings, entries: Sequence[StreamEntry]) -> _BatchResult:
    """Apply one batch of entries, then acknowledge every entry whose outcome is final.

    The whole batch is first tried as one transaction. If another client changes a watched key
    meanwhile, each user's events get their own transaction with retries, so one busy user cannot
    hold back the others.
    """
    events_by_user: dict[str | None, list[tuple[str, Event]]] = defaultdict(list)
    final_entry_ids: list[str] = []
    seen_event_ids: set[str] = set()
    invalid = duplicates = applied = left_pending = 0

    for entry in entries:
        event = _parse_entry(entry, settings)
        if event is None:
            invalid += 1
            final_entry_ids.append(entry.entry_id)
        elif event.event_id in seen_event_ids:
            # A client retry can put the same event twice into one batch; markers only catch it across batches.
            duplicates += 1
            final_entry_ids.append(entry.entry_id)
        else:
            seen_event_ids.add(event.event_id)
            events_by_user[event.user_id].append((entry.entry_id, event))

    groups = [(user_id, [event for _, event in pairs]) for user_id, pairs in events_by_user.items()]
    try:
        batch_applied, batch_duplicates = _apply_groups(redis, settings, groups)
    except redis_lib.WatchError:
        logger.info("Batch of %d entries conflicted with another writer; applying it user by user", len(entries))
    else:
        applied += batch_applied
        duplicates += batch_duplicates
        final_entry_ids.extend(entry_id for pairs in events_by_user.values() for entry_id, _ in pairs)
        groups = []

    for user_id, events in groups:
        try:
            group_applied, group_duplicates = _apply_user_events(redis, settings, user_id, events)
        except _TooManyConflicts:
            logger.warning(
                "User %s: %d events left pending after %d write conflicts; a later run reclaims them",
                user_id,
                len(events),
                settings.consumer_watch_retries,
            )
            left_pending += len(events)
            continue
        applied += group_applied
        duplicates += group_duplicates
        final_entry_ids.extend(entry_id for entry_id, _ in events_by_user[user_id])

    # Acknowledge only after EXEC: a crash before this line redelivers events the markers then skip.
    acked = stream.acknowledge(redis, settings, final_entry_ids)

    return _BatchResult(
        applied=applied,
        duplicates=duplicates,
        acked=acked,
        invalid=invalid,
        left_pending=left_pending,
    )


def fold_events(
    profile: UserProfile | None, user_id: str, events: Sequence[Event], settings: Settings
) -> UserProfile | None:
    """Apply the profile-changing events in time order and return the profile, or None when nothing changed.

    NOTE: impressions change no profile. They are kept in the stream to feed click-through rates later.
    """
    behaviour = [event for event in events if event.type != "impression"]
    if not behaviour:
        return None

    if profile is None:
        profile = UserProfile(user_id=user_id)

    for event in sorted(behaviour, key=lambda event: event.timestamp):
        profile.apply(
            event.type,
            event.doc_id,
            event.timestamp,
            getattr(event, "price", None),
            settings.affinity_half_life_days,
            settings.user_max_items,
        )

    return profile


def popularity_increments(events: Sequence[Event], settings: Settings) -> dict[str, float]:
    """Sum the popularity each purchase adds to its item.

    Every purchase line counts once, whatever its quantity, so one wholesale order of 10,000 units
    does not outweigh many ordinary customers.
    """
    increments: dict[str, float] = defaultdict(float)
    for event in events:
        if event.type == "purchase":
            increments[event.doc_id] += popularity_increment(event.timestamp, settings.popularity_half_life_days)

    return dict(increments)


def _apply_user_events(
    redis: redis_lib.Redis,
    settings: Settings,
    user_id: str | None,
    events: list[Event],
) -> tuple[int, int]:
    """Apply one user's events in one transaction, retrying on conflicts, and return (applied, duplicates)."""
    for _ in range(settings.consumer_watch_retries):
        try:
            return _apply_groups(redis, settings, [(user_id, events)])
        except redis_lib.WatchError:
            logger.debug("User %s changed while its events were applied; retrying", user_id)

    raise _TooManyConflicts(user_id)


def _apply_groups(
    redis: redis_lib.Redis,
    settings: Settings,
    groups: Sequence[tuple[str | None, list[Event]]],
) -> tuple[int, int]:
    """Apply the events of several users in one WATCH/MULTI/EXEC and return (applied, duplicates).

    Raises WatchError, with nothing written, when another client changed a watched key.
    """
    if not groups:
        return 0, 0

    id_groups = [(user_id, [event.event_id for event in events]) for user_id, events in groups]
    applied = duplicates = 0

    with redis.pipeline(transaction=True) as pipe:
        pipe.watch(*(key for user_id, ids in id_groups for key in feature_store.watched_keys(user_id, ids)))
        states = feature_store.read_states(pipe, id_groups)

        updates = []
        for (user_id, events), (profile, already_applied) in zip(groups, states, strict=True):
            new_events = [event for event, seen in zip(events, already_applied, strict=True) if not seen]
            applied += len(new_events)
            duplicates += len(events) - len(new_events)
            if new_events:
                updates.append(_build_update(profile, user_id, new_events, settings))

        if not updates:
            return applied, duplicates

        pipe.multi()
        for update in updates:
            feature_store.stage_update(
                pipe,
                update,
                user_ttl_s=settings.user_ttl_s,
                dedupe_ttl_s=settings.event_dedupe_ttl_s,
            )
        pipe.execute()

    return applied, duplicates


def _build_update(
    profile: UserProfile | None, user_id: str | None, new_events: list[Event], settings: Settings
) -> FeatureUpdate:
    return FeatureUpdate(
        profile=fold_events(profile, user_id, new_events, settings) if user_id is not None else None,
        event_ids=tuple(event.event_id for event in new_events),
        popularity_increments=popularity_increments(new_events, settings),
        max_timestamp=max(event.timestamp for event in new_events),
    )


def _parse_entry(entry: StreamEntry, settings: Settings) -> Event | None:
    if entry.payload is None:
        logger.error(
            "Stream %s entry %s has no %r field and is dropped", settings.stream_key, entry.entry_id, stream.EVENT_FIELD
        )
        return None

    try:
        return parse_event_json(entry.payload)
    except ValidationError as exc:
        logger.error(
            "Stream %s entry %s is not a valid event and is dropped: %s",
            settings.stream_key,
            entry.entry_id,
            exc,
        )
        return None
