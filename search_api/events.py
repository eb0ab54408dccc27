"""The event intake endpoint: POST /v1/events appends valid storefront events to the Redis stream."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis as redis_lib
from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from search_api.clients import get_redis, get_settings_of_app
from search_api.errors import ApiError
from settings import Settings
from workers.events import validate_events
from workers.jobs import schedule_consume
from workers.stream import append_events

logger = logging.getLogger(__name__)

bp = Blueprint("events", __name__)


@bp.post("/v1/events")
def post_events() -> ResponseReturnValue:
    """Validate a batch of events, store the valid ones durably and schedule their processing.

    Returns 202 when every event was accepted, 207 when some were rejected (the valid ones are still
    stored) and 400 when none was valid. Redis being unreachable returns 503 with nothing accepted.
    Resending a batch is safe: the consumer applies each `event_id` once.
    """
    settings = get_settings_of_app()
    raw_events = _read_events(settings)

    valid, rejected = validate_events(raw_events)
    rejected_body = [error.to_dict() for error in rejected]
    if not valid:
        raise ApiError(
            400,
            "invalid_events",
            f"None of the {len(raw_events)} events is valid; 'rejected' lists the errors of each.",
            field="events",
            extra={"accepted": 0, "rejected": rejected_body},
        )

    redis = get_redis()
    try:
        entry_ids = append_events(redis, valid, settings)
    except redis_lib.RedisError as exc:
        logger.error("Stream %s: appending %d events failed: %s", settings.stream_key, len(valid), exc)
        raise ApiError(
            503,
            "event_store_unavailable",
            "The event store (Redis) is unavailable, so no event was accepted; retry the whole batch later.",
        ) from exc

    _schedule(redis, settings)
    logger.info(
        "Stream %s: accepted %d events up to entry %s, rejected %d",
        settings.stream_key,
        len(entry_ids),
        entry_ids[-1],
        len(rejected),
    )

    return jsonify({"accepted": len(valid), "rejected": rejected_body}), 207 if rejected else 202


def _read_events(settings: Settings) -> list[Any]:
    """Parse the body as `{"events": [...]}`, raising a 400 ApiError that names the offending field."""
    try:
        body = json.loads(request.get_data())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"The request body is not valid JSON: {exc}.", field="body") from None

    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", 'The request body must be a JSON object {"events": [...]}.', field="body")

    unknown = sorted(set(body) - {"events"})
    if unknown:
        raise ApiError(
            400,
            "unknown_field",
            f"The body field {unknown[0]!r} is not supported; send only 'events'.",
            field=unknown[0],
        )

    if "events" not in body:
        raise ApiError(400, "missing_field", "The body field 'events' is required.", field="events")

    events = body["events"]
    if not isinstance(events, list):
        raise ApiError(400, "invalid_field", "The body field 'events' must be a list of event objects.", field="events")
    if not events:
        raise ApiError(400, "invalid_field", "The body field 'events' must contain at least one event.", field="events")
    if len(events) > settings.max_events_per_request:
        raise ApiError(
            400,
            "too_many_events",
            f"The request has {len(events)} events; the maximum is {settings.max_events_per_request}, "
            "so split it into several requests.",
            field="events",
        )

    return events


def _schedule(redis: redis_lib.Redis, settings: Settings) -> None:
    # The events are already stored, so a failure here only delays them until the next request schedules a job.
    try:
        schedule_consume(redis, settings)
    except redis_lib.RedisError as exc:
        logger.warning(
            "Stream %s: scheduling a consume job failed; the next request retries: %s", settings.stream_key, exc
        )
