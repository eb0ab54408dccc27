"""Fixtures shared by the whole test suite.

The suite runs against real services: one Elasticsearch node and one Redis server on 127.0.0.1.
``devtools/services start`` starts them once per session, and does nothing when they already run.
They keep running after the session so that the next run starts at once: stop them with
``devtools/services stop``.

Each test gets clean state:

* ``redis_db`` is a client on a spare Redis database (TAILOR_TEST_REDIS_DB, default 15), flushed
  before and after the test. ``redis_url_for_tests`` is the URL of that database.
* ``unique_name`` gives names such as ``test-1a2b3c4d``; every Elasticsearch index, alias and index
  template whose name starts with one of them is deleted after the test.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from elasticsearch import Elasticsearch

from settings import REPO_ROOT, get_settings

SERVICES_SCRIPT = REPO_ROOT / "devtools" / "services"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The first start may install Redis and download Elasticsearch from Maven Central. The script bounds
# its own wait for readiness, and this timeout bounds the installs and the build as well.
SERVICES_START_TIMEOUT_S = 1200


def _test_redis_db() -> int:
    """Return the Redis database the tests may flush, from TAILOR_TEST_REDIS_DB (default 15)."""
    raw = os.environ.get("TAILOR_TEST_REDIS_DB", "15")
    try:
        db = int(raw)
    except ValueError:
        raise pytest.UsageError(f"TAILOR_TEST_REDIS_DB must be a Redis database number, got {raw!r}") from None
    # Redis has databases 0 to 15 by default, and devtools/services keeps the default.
    if not 0 <= db <= 15:
        raise pytest.UsageError(f"TAILOR_TEST_REDIS_DB must be between 0 and 15, got {db}")
    app_db = _db_of(get_settings().redis_url)
    if db == app_db:
        raise pytest.UsageError(
            f"TAILOR_TEST_REDIS_DB={db} is also the database of TAILOR_REDIS_URL, which the tests would flush; "
            "pick another database for one of them"
        )
    return db


def _db_of(redis_url: str) -> int:
    path = urlsplit(redis_url).path.strip("/")
    return int(path) if path.isdigit() else 0


@pytest.fixture(scope="session", autouse=True)
def local_services() -> None:
    """Start the local Elasticsearch node and Redis server once per session, if they are not running.

    The ports come from the settings' URLs (TAILOR_ES_URL, TAILOR_REDIS_URL). When neither URL is a
    loopback address, the services are managed elsewhere and nothing is started.
    """
    settings = get_settings()
    es_url = urlsplit(settings.es_url)
    redis_url = urlsplit(settings.redis_url)
    if es_url.hostname not in LOOPBACK_HOSTS and redis_url.hostname not in LOOPBACK_HOSTS:
        return
    env = {
        **os.environ,
        "TAILOR_ES_PORT": str(es_url.port or 9200),
        "TAILOR_REDIS_PORT": str(redis_url.port or 6379),
    }
    try:
        result = subprocess.run(
            ["bash", str(SERVICES_SCRIPT), "start"],
            env=env,
            capture_output=True,
            text=True,
            timeout=SERVICES_START_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.exit(
            f"{SERVICES_SCRIPT} start timed out after {SERVICES_START_TIMEOUT_S}s; "
            "run it by hand to see where it hangs",
            returncode=3,
        )
    if result.returncode != 0:
        # The tests need these services, so stop the session and show the script's own diagnosis.
        pytest.exit(
            f"{SERVICES_SCRIPT} start failed with exit status {result.returncode}:\n{result.stdout}{result.stderr}",
            returncode=3,
        )


@pytest.fixture(scope="session")
def es() -> Iterator[Elasticsearch]:
    """An Elasticsearch client for TAILOR_ES_URL."""
    settings = get_settings()
    client = Elasticsearch(settings.es_url, request_timeout=settings.es_timeout_s)
    yield client
    client.close()


@pytest.fixture(scope="session")
def redis_url_for_tests() -> str:
    """TAILOR_REDIS_URL with its database replaced by the test database (see ``redis_db``)."""
    url = urlsplit(get_settings().redis_url)
    return urlunsplit(url._replace(path=f"/{_test_redis_db()}"))


@pytest.fixture
def redis_db(redis_url_for_tests: str) -> Iterator[redis.Redis]:
    """A Redis client on the test database, flushed before and after the test.

    Replies are bytes, as with any ``redis.Redis`` created without ``decode_responses``.
    """
    client = redis.Redis.from_url(redis_url_for_tests)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class UniqueName(str):
    """A unique name that also makes more of them.

    As a string it is one name, ``test-<8 hex digits>``, for tests that need a single one
    (``f"{unique_name}-alias"``). Called, it returns a new name: ``unique_name()``, or
    ``unique_name("catalog")`` for ``catalog-<8 hex digits>``. Every name is recorded for clean-up.
    """

    _created: list[str]

    def __new__(cls, created: list[str]) -> Self:
        name = _new_name("test")
        created.append(name)
        instance = super().__new__(cls, name)
        instance._created = created
        return instance

    def __call__(self, prefix: str = "test") -> str:
        name = _new_name(prefix)
        self._created.append(name)
        return name


def _new_name(prefix: str) -> str:
    # Elasticsearch index names must be lowercase and must not start with '-', '_' or '+'.
    if not prefix or prefix != prefix.lower() or prefix[0] in "-_+" or any(c in prefix for c in '\\/*?"<>| ,#:'):
        raise ValueError(f"unique_name prefix must be a lowercase Elasticsearch-safe word, got {prefix!r}")
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def unique_name(es: Elasticsearch) -> Iterator[UniqueName]:
    """Unique lowercase names; Elasticsearch indices, aliases and index templates named after them are
    deleted after the test (see ``UniqueName``)."""
    created: list[str] = []
    yield UniqueName(created)
    for name in created:
        _delete_elasticsearch_objects(es, f"{name}*")


def _delete_elasticsearch_objects(es: Elasticsearch, pattern: str) -> None:
    """Delete the indices, aliases and index templates whose names match ``pattern``.

    Names are resolved first and deleted one by one: Elasticsearch refuses wildcard deletes of
    indices by default (action.destructive_requires_name).
    """
    client = es.options(ignore_status=404)
    aliases = client.indices.get_alias(name=pattern, expand_wildcards="all")
    if aliases.meta.status != 404:
        for index, entry in aliases.body.items():
            for alias in entry.get("aliases", {}):
                client.indices.delete_alias(index=index, name=alias)
    indices = client.indices.get(index=pattern, expand_wildcards="all", allow_no_indices=True)
    if indices.meta.status != 404 and indices.body:
        client.indices.delete(index=",".join(indices.body))
    templates = client.indices.get_index_template(name=pattern)
    if templates.meta.status != 404:
        for template in templates.body.get("index_templates", []):
            client.indices.delete_index_template(name=template["name"])
