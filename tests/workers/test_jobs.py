"""Tests of the RQ consume job: scheduling without pile-up and end-to-end processing by a burst worker."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from rq import Queue, SimpleWorker

from rankers import feature_store
from settings import Settings
from workers import jobs, stream
from workers.events import validate_events

T0 = 1_300_000_000.0


@pytest.fixture
def settings(redis_url_for_tests: str, unique_name: str) -> Settings:
    return Settings(redis_url=redis_url_for_tests, stream_key=f"tailor:events:{unique_name}", queue_name=unique_name)


@pytest.fixture
def rq_redis(redis_db: redis.Redis, redis_url_for_tests: str) -> redis.Redis:
    """A client without decoded responses, as RQ requires."""
    return redis.Redis.from_url(redis_url_for_tests)


def append_purchases(client: redis.Redis, settings: Settings, count: int) -> None:
    raw: list[dict[str, Any]] = [
        {
            "event_id": f"p{i}",
            "type": "purchase",
            "timestamp": T0 + i,
            "user_id": f"u{i % 4}",
            "doc_id": f"d{i % 5}",
            "quantity": 1,
            "price": 2.0,
        }
        for i in range(count)
    ]
    events, rejected = validate_events(raw)
    assert rejected == []
    stream.append_events(client, events, settings)


def run_burst_worker(client: redis.Redis, settings: Settings) -> None:
    queue = Queue(settings.queue_name, connection=client)
    SimpleWorker([queue], connection=client).work(burst=True)


def test_schedule_does_not_pile_up(rq_redis: redis.Redis, settings: Settings) -> None:
    first = jobs.schedule_consume(rq_redis, settings)
    second = jobs.schedule_consume(rq_redis, settings)

    assert first is not None
    assert second is None
    assert Queue(settings.queue_name, connection=rq_redis).count == 1


def test_burst_worker_processes_scheduled_job(rq_redis: redis.Redis, settings: Settings) -> None:
    append_purchases(rq_redis, settings, 20)
    job_id = jobs.schedule_consume(rq_redis, settings)
    assert job_id is not None

    run_burst_worker(rq_redis, settings)

    job = Queue(settings.queue_name, connection=rq_redis).fetch_job(job_id)
    assert job is not None
    assert job.get_status() == "finished"
    result = job.return_value()
    assert result is not None
    assert result["applied"] == 20
    assert len(rq_redis.keys(feature_store.USER_KEY_PREFIX + "*")) == 4
    assert rq_redis.exists(jobs.scheduled_marker_key(settings)) == 0
    assert rq_redis.xpending(settings.stream_key, settings.consumer_group)["pending"] == 0


def test_job_reschedules_when_budget_exhausted(rq_redis: redis.Redis, settings: Settings) -> None:
    settings = settings.model_copy(update={"consume_job_max_events": 6})
    append_purchases(rq_redis, settings, 20)
    jobs.schedule_consume(rq_redis, settings)

    run_burst_worker(rq_redis, settings)

    profiles = [feature_store.fetch(rq_redis, f"u{i}", []).profile for i in range(4)]
    assert [profile.purchase_count if profile else 0 for profile in profiles] == [5, 5, 5, 5]
    assert Queue(settings.queue_name, connection=rq_redis).count == 0


def test_schedule_allowed_once_job_started(rq_redis: redis.Redis, settings: Settings) -> None:
    jobs.schedule_consume(rq_redis, settings)
    run_burst_worker(rq_redis, settings)

    assert jobs.schedule_consume(rq_redis, settings) is not None
