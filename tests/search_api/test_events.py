"""Tests of POST /v1/events through the Flask test client against real Redis."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq import Queue

from search_api.app import create_app
from settings import Settings

T0 = 1_300_000_000.0


def closed_port() -> int:
    """Return a loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def settings(redis_url_for_tests: str, unique_name: str) -> Settings:
    return Settings(
        redis_url=redis_url_for_tests,
        stream_key=f"tailor:events:{unique_name}",
        queue_name=unique_name,
        max_events_per_request=5,
        max_request_bytes=4096,
    )


@pytest.fixture
def client(settings: Settings, redis_db: redis.Redis) -> FlaskClient:
    return create_app(settings).test_client()


def view(event_id: str, **changes: Any) -> dict[str, Any]:
    event = {"event_id": event_id, "type": "view", "timestamp": T0, "user_id": 17841, "doc_id": "85123A"}
    event.update(changes)
    return event


def stream_length(redis_db: redis.Redis, settings: Settings) -> int:
    return redis_db.xlen(settings.stream_key) if redis_db.exists(settings.stream_key) else 0


def test_all_valid_accepted(client: FlaskClient, redis_db: redis.Redis, settings: Settings) -> None:
    response = client.post("/v1/events", json={"events": [view("e1"), view("e2")]})

    assert response.status_code == 202
    assert response.get_json() == {"accepted": 2, "rejected": []}
    assert stream_length(redis_db, settings) == 2


def test_mixed_batch_keeps_valid(client: FlaskClient, redis_db: redis.Redis, settings: Settings) -> None:
    events = [view("e1"), view("bad", position=3), view("e2"), {"type": "view"}]

    response = client.post("/v1/events", json={"events": events})

    body = response.get_json()
    assert response.status_code == 207
    assert body["accepted"] == 2
    assert [(item["index"], item["event_id"]) for item in body["rejected"]] == [(1, "bad"), (3, None)]
    assert body["rejected"][0]["errors"][0]["field"] == "position"
    assert stream_length(redis_db, settings) == 2


def test_none_valid_rejected(client: FlaskClient, redis_db: redis.Redis, settings: Settings) -> None:
    response = client.post("/v1/events", json={"events": [view("e1", timestamp="soon")]})

    body = response.get_json()
    assert response.status_code == 400
    assert body["error"]["field"] == "events"
    assert body["accepted"] == 0
    assert body["rejected"][0]["errors"][0]["field"] == "timestamp"
    assert stream_length(redis_db, settings) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ("", "body"),
        ("[1, 2]", "body"),
        ("{}", "events"),
        ('{"events": {"event_id": "e1"}}', "events"),
        ('{"events": []}', "events"),
        (json.dumps({"events": [view(f"e{i}") for i in range(6)]}), "events"),
        (json.dumps({"events": [view("e1")], "source": "web"}), "source"),
    ],
)
def test_bad_body_names_field(
    client: FlaskClient, redis_db: redis.Redis, settings: Settings, body: str, field: str
) -> None:
    response = client.post("/v1/events", data=body, content_type="application/json")

    error = response.get_json()["error"]
    assert response.status_code == 400
    assert error["field"] == field
    assert error["message"].endswith(".")
    assert stream_length(redis_db, settings) == 0


def test_body_without_content_type_accepted(client: FlaskClient) -> None:
    response = client.post("/v1/events", data=json.dumps({"events": [view("e1")]}))

    assert response.status_code == 202


def test_too_large_body(client: FlaskClient) -> None:
    response = client.post("/v1/events", json={"events": [view("e1", doc_id="x" * 5000)]})

    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_too_large"


def test_redis_down_returns_503(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0", "redis_timeout_s": 1.0})
    client = create_app(down).test_client()

    response = client.post("/v1/events", json={"events": [view("e1")]})

    body = response.get_json()
    assert response.status_code == 503
    assert body["error"]["code"] == "event_store_unavailable"
    assert "no event was accepted" in body["error"]["message"]
    assert "accepted" not in body


def test_post_schedules_one_job(client: FlaskClient, redis_url_for_tests: str, settings: Settings) -> None:
    client.post("/v1/events", json={"events": [view("e1")]})
    client.post("/v1/events", json={"events": [view("e2")]})

    queue = Queue(settings.queue_name, connection=redis.Redis.from_url(redis_url_for_tests))
    assert queue.count == 1


def test_unknown_path_json_404(client: FlaskClient) -> None:
    response = client.get("/v1/nothing")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_json_405(client: FlaskClient) -> None:
    response = client.get("/v1/events")

    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
