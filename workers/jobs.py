"""RQ jobs that drain the event stream, and their scheduling without piling up queued jobs."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from typing import Any

import redis as redis_lib
from rq import Queue, get_current_job

from settings import Settings, get_settings
from workers import stream
from workers.consumer import consume

logger = logging.getLogger(__name__)


def scheduled_marker_key(settings: Settings) -> str:
    """Return the key that exists while a consume job for this stream is queued and not yet started."""
    return f"{settings.stream_key}:consume-queued"


def schedule_consume(redis: redis_lib.Redis, settings: Settings) -> str | None:
    """Enqueue a consume job unless one is already queued; return the new job's id, or None.

    The guard is a marker set with SET NX and deleted by the job when it starts. A fixed RQ job id
    cannot serve as the guard: re-enqueueing that id while the job runs would overwrite the running
    job's hash, and skipping while it runs could strand events appended after its last read. The
    marker expires after one job timeout, so a job lost with its queue blocks scheduling no longer.
    """
    marker = scheduled_marker_key(settings)
    if not redis.set(marker, 1, nx=True, ex=settings.consume_job_timeout_s):
        return None

    try:
        job = Queue(settings.queue_name, connection=redis).enqueue(
            consume_events,
            max_events=settings.consume_job_max_events,
            settings_fields=settings.model_dump(mode="json"),
            job_timeout=settings.consume_job_timeout_s,
            description=f"consume events of stream {settings.stream_key}",
        )
    except BaseException:
        redis.delete(marker)
        raise

    logger.info("Job %s enqueued to consume stream %s on queue %s", job.id, settings.stream_key, settings.queue_name)

    return job.id


def consume_events(max_events: int | None = None, settings_fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """Drain the event stream (at most `max_events` entries), rescheduling itself if entries may remain.

    `settings_fields` carries the scheduling process's settings as plain values, so the API, the
    importer and the worker agree on stream, group and half-lives. Without it the job reads the
    worker's own environment.
    """
    if settings_fields is None:
        settings = get_settings()
    else:
        # A worker older than the scheduler skips fields it does not know instead of failing every job.
        known = {name: value for name, value in settings_fields.items() if name in Settings.model_fields}
        settings = Settings(**known)
    limit = max_events if max_events is not None else settings.consume_job_max_events
    redis = redis_lib.Redis.from_url(settings.redis_url)

    try:
        # Deleting the marker first lets events appended during this run schedule a follow-up job.
        redis.delete(scheduled_marker_key(settings))

        consumer_name = _consumer_name()
        report = consume(redis, settings, consumer_name, limit)
        stream.remove_consumer_if_idle(redis, settings, consumer_name)

        if report.budget_exhausted:
            schedule_consume(redis, settings)
    finally:
        redis.close()

    return dataclasses.asdict(report)


def _consumer_name() -> str:
    # The RQ worker's name is stable across its jobs; outside a worker, host and process id identify us.
    job = get_current_job()
    if job is not None and job.worker_name:
        return job.worker_name

    return f"{socket.gethostname()}:{os.getpid()}"
