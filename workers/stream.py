"""The Redis stream of accepted events and its consumer-group operations."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis as redis_lib

from settings import Settings
from workers.events import Event, event_to_json

logger = logging.getLogger(__name__)

# Each stream entry has one field holding the validated event as JSON.
EVENT_FIELD = "event"


@dataclass(frozen=True)
class StreamEntry:
    """One stream entry: its id and the raw event JSON, validated again by the consumer."""

    entry_id: str
    payload: bytes | str | None


def append_events(redis: redis_lib.Redis, events: Sequence[Event], settings: Settings) -> list[str]:
    """Append events to the stream in one MULTI/EXEC transaction and return their entry ids in order.

    Once this returns, the events are as durable as the Redis server's persistence makes them:
    our local Redis runs with appendonly yes and appendfsync always, so they are on disk.
    """
    if not events:
        return []

    # NOTE: MAXLEN ~ trims the oldest entries and nothing archives them yet, so a consumer lagging by
    # more than stream_max_len entries loses events. Keep the cap far above any expected backlog.
    pipe = redis.pipeline(transaction=True)
    for event in events:
        pipe.xadd(
            settings.stream_key,
            {EVENT_FIELD: event_to_json(event)},
            maxlen=settings.stream_max_len,
            approximate=True,
        )
    entry_ids = pipe.execute()

    return [_text(entry_id) for entry_id in entry_ids]


def ensure_group(redis: redis_lib.Redis, settings: Settings) -> None:
    """Create the stream and its consumer group if missing; a new group starts at the first entry."""
    try:
        redis.xgroup_create(settings.stream_key, settings.consumer_group, id="0", mkstream=True)
    except redis_lib.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
        return

    logger.info("Consumer group %s created on stream %s", settings.consumer_group, settings.stream_key)


def read_new(redis: redis_lib.Redis, settings: Settings, consumer_name: str, count: int) -> list[StreamEntry]:
    """Read up to `count` entries never delivered to the group, without blocking."""
    response = redis.xreadgroup(
        settings.consumer_group,
        consumer_name,
        {settings.stream_key: ">"},
        count=count,
    )
    if not response:
        return []

    # RESP2 returns [[stream, entries]]; RESP3 returns {stream: entries} or, in redis-py's
    # compatibility shape, {stream: [entries]}.
    entries: list[Any]
    if isinstance(response, dict):
        entries = next(iter(response.values()))
        if entries and isinstance(entries[0], list):
            entries = entries[0]
    else:
        entries = response[0][1]

    return [_entry(entry_id, fields) for entry_id, fields in entries]


def claim_stale(
    redis: redis_lib.Redis,
    settings: Settings,
    consumer_name: str,
    count: int,
) -> list[StreamEntry]:
    """Take over up to `count` pending entries idle for `consumer_claim_idle_ms`, so a dead consumer's work is redone.

    Entries trimmed from the stream while pending are dropped from the group by XAUTOCLAIM itself.
    """
    claimed: list[StreamEntry] = []
    start_id = "0-0"

    # Each XAUTOCLAIM call scans a bounded part of the pending list, so the loop ends after at most
    # one pass over it.
    while len(claimed) < count:
        next_id, entries, deleted = redis.xautoclaim(
            settings.stream_key,
            settings.consumer_group,
            consumer_name,
            min_idle_time=settings.consumer_claim_idle_ms,
            start_id=start_id,
            count=count - len(claimed),
        )
        claimed.extend(_entry(entry_id, fields) for entry_id, fields in entries)
        if deleted:
            logger.warning(
                "Stream %s had %d pending entries trimmed before they were processed; they are lost",
                settings.stream_key,
                len(deleted),
            )

        start_id = _text(next_id)
        if start_id == "0-0":
            break

    if claimed:
        logger.info(
            "Consumer %s claimed %d stale pending entries on stream %s",
            consumer_name,
            len(claimed),
            settings.stream_key,
        )

    return claimed


def acknowledge(redis: redis_lib.Redis, settings: Settings, entry_ids: Sequence[str]) -> int:
    """Mark entries as processed for the group and return how many were pending."""
    if not entry_ids:
        return 0

    return int(redis.xack(settings.stream_key, settings.consumer_group, *entry_ids))


def remove_consumer_if_idle(redis: redis_lib.Redis, settings: Settings, consumer_name: str) -> bool:
    """Delete the consumer from the group when it owns no pending entry, so short-lived consumers do not pile up.

    Call it only from the consumer itself, after its last read: then nothing can add an entry to its
    pending list between the check and the delete, since only its own reads do.
    """
    for info in redis.xinfo_consumers(settings.stream_key, settings.consumer_group):
        if _text(info["name"]) != consumer_name:
            continue
        if int(info["pending"]) > 0:
            return False
        redis.xgroup_delconsumer(settings.stream_key, settings.consumer_group, consumer_name)
        return True

    return False


def _entry(entry_id: bytes | str, fields: dict[Any, Any] | None) -> StreamEntry:
    payload = None
    if fields:
        payload = fields.get(EVENT_FIELD.encode()) or fields.get(EVENT_FIELD)

    return StreamEntry(entry_id=_text(entry_id), payload=payload)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
