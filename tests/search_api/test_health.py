"""Tests of the liveness and readiness endpoints against real Elasticsearch and Redis."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from elasticsearch import Elasticsearch

from search_api.app import create_app
from search_api.health import MODEL_LOADED_EXTENSION
from settings import Settings


def closed_port() -> int:
    """Return a loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def settings(redis_url_for_tests: str, unique_name: str, tmp_path: Path) -> Settings:
    # An empty model folder, so no model trained by the demo is found.
    return Settings(
        redis_url=redis_url_for_tests,
        index_alias=f"{unique_name}-alias",
        es_timeout_s=5.0,
        model_dir=tmp_path / "models",
    )


@pytest.fixture
def aliased_index(es: Elasticsearch, settings: Settings, unique_name: str) -> Iterator[str]:
    index = f"{unique_name}-index"
    es.indices.create(index=index, aliases={settings.index_alias: {}}, settings={"number_of_replicas": 0})
    yield index
    es.indices.delete(index=index, ignore_unavailable=True)


def test_health_always_ok() -> None:
    down = Settings(redis_url=f"redis://127.0.0.1:{closed_port()}/0", es_url=f"http://127.0.0.1:{closed_port()}")

    response = create_app(down).test_client().get("/v1/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_when_all_ok(settings: Settings, redis_db: redis.Redis, aliased_index: str) -> None:
    app = create_app(settings)
    app.extensions[MODEL_LOADED_EXTENSION] = lambda: True

    response = app.test_client().get("/v1/ready")

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "elasticsearch": "ok",
        "redis": "ok",
        "model": "ok",
    }


def test_not_ready_without_alias_or_model(settings: Settings, redis_db: redis.Redis, es: Elasticsearch) -> None:
    response = create_app(settings).test_client().get("/v1/ready")

    checks = response.get_json()["checks"]
    assert response.status_code == 503
    assert checks["elasticsearch"]["status"] == "failed"
    assert settings.index_alias in checks["elasticsearch"]["detail"]
    assert checks["redis"]["status"] == "ok"
    assert checks["model"]["status"] == "failed"


def test_not_ready_when_redis_down(settings: Settings, aliased_index: str) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0", "redis_timeout_s": 1.0})
    app = create_app(down)
    app.extensions[MODEL_LOADED_EXTENSION] = lambda: True

    response = app.test_client().get("/v1/ready")

    checks = response.get_json()["checks"]
    assert response.status_code == 503
    assert checks["redis"]["status"] == "failed"
    assert checks["elasticsearch"]["status"] == "ok"


def test_not_ready_when_elasticsearch_down(settings: Settings, redis_db: redis.Redis) -> None:
    down = settings.model_copy(update={"es_url": f"http://127.0.0.1:{closed_port()}"})

    response = create_app(down).test_client().get("/v1/ready")

    checks = response.get_json()["checks"]
    assert response.status_code == 503
    assert checks["elasticsearch"]["status"] == "failed"
    assert checks["redis"]["status"] == "ok"
