"""Tests of the local services that devtools/services runs, and of the Elasticsearch features the
product relies on, against the running node.

These tests never stop the services: the rest of the suite shares them.
"""

from __future__ import annotations

import ipaddress
import math
import os
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from elasticsearch import BadRequestError, Elasticsearch

from settings import REPO_ROOT, get_settings

SERVICES_SCRIPT = REPO_ROOT / "devtools" / "services"
POM = REPO_ROOT / "devtools" / "elasticsearch" / "pom.xml"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def pinned_es_version() -> str:
    """Return the Elasticsearch version that devtools/elasticsearch/pom.xml pins."""
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ET.parse(POM).getroot().findtext("m:properties/m:elasticsearch.version", namespaces=namespace)
    assert version, f"{POM} has no <elasticsearch.version> property"
    return version


def ports() -> tuple[int, int]:
    """Return the Elasticsearch HTTP and Redis ports of the settings' URLs."""
    settings = get_settings()
    return urlsplit(settings.es_url).port or 9200, urlsplit(settings.redis_url).port or 6379


def services_env() -> dict[str, str]:
    """Return the environment under which the session fixture started the services."""
    es_port, redis_port = ports()
    return {**os.environ, "TAILOR_ES_PORT": str(es_port), "TAILOR_REDIS_PORT": str(redis_port)}


def run_dir() -> Path:
    return Path(os.environ.get("TAILOR_RUN_DIR", REPO_ROOT / ".run"))


def listening_addresses(port: int) -> set[str]:
    """Return the local addresses of every TCP socket listening on ``port``, from /proc/net."""
    addresses: set[str] = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                address_hex, port_hex = local.split(":")
                if state != "0A" or int(port_hex, 16) != port:  # 0A is TCP_LISTEN.
                    continue
                assert len(address_hex) == width
                # The kernel prints each 32-bit word of the address in host (little-endian) byte order.
                raw = b"".join(bytes.fromhex(address_hex[i : i + 8])[::-1] for i in range(0, width, 8))
                address = ipaddress.ip_address(raw)
                if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                    address = address.ipv4_mapped
                addresses.add(str(address))
    return addresses


local_only = pytest.mark.skipif(
    urlsplit(get_settings().es_url).hostname not in LOOPBACK_HOSTS
    or urlsplit(get_settings().redis_url).hostname not in LOOPBACK_HOSTS,
    reason="the services are not the local ones that devtools/services runs",
)


def test_single_node_pinned_version(es: Elasticsearch) -> None:
    assert es.ping()
    assert es.info()["version"]["number"] == pinned_es_version()
    health = es.cluster.health(wait_for_status="yellow", timeout="10s")
    assert health["number_of_nodes"] == 1
    assert health["status"] in {"green", "yellow"}


def test_node_addresses_are_loopback(es: Elasticsearch) -> None:
    nodes = es.nodes.info(node_id="_local", metric="http,transport")["nodes"]
    (node,) = nodes.values()
    for layer in ("http", "transport"):
        assert node[layer]["bound_address"], layer
        bound_hosts = {address.rsplit(":", 1)[0] for address in node[layer]["bound_address"]}
        assert bound_hosts == {"127.0.0.1"}, layer
        assert node[layer]["publish_address"].rsplit(":", 1)[0] == "127.0.0.1", layer


@local_only
def test_listeners_are_loopback_only(es: Elasticsearch) -> None:
    es_port, redis_port = ports()
    (node,) = es.nodes.info(node_id="_local", metric="transport")["nodes"].values()
    transport_port = int(node["transport"]["publish_address"].rsplit(":", 1)[1])
    for port in (es_port, transport_port, redis_port):
        assert listening_addresses(port) == {"127.0.0.1"}, f"port {port}"


@local_only
def test_redis_durable_loopback_config(redis_db: redis.Redis) -> None:
    config = redis_db.config_get("*")
    assert config["bind"] == "127.0.0.1"
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "always"
    assert Path(config["dir"]).resolve() == (run_dir() / "redis").resolve()


@local_only
def test_second_start_is_noop() -> None:
    pid_files = [run_dir() / "elasticsearch" / "elasticsearch.pid", run_dir() / "redis" / "redis.pid"]
    before = [path.read_text().strip() for path in pid_files]

    result = subprocess.run(
        ["bash", str(SERVICES_SCRIPT), "start"],
        env=services_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert [path.read_text().strip() for path in pid_files] == before
    for pid in before:
        assert f"(pid {pid}," in result.stdout


@local_only
def test_status_reports_both_running() -> None:
    result = subprocess.run(
        ["bash", str(SERVICES_SCRIPT), "status"],
        env=services_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "elasticsearch: running" in result.stdout
    assert "redis: running" in result.stdout


def test_language_analyzers_are_absent(es: Elasticsearch, unique_name: Callable[..., str]) -> None:
    """The node lacks the analysis-common module: only the standard analyzers exist, so the
    catalog must not depend on 'english' or other language analyzers."""
    with pytest.raises(BadRequestError, match="english"):
        es.indices.create(
            index=unique_name(),
            mappings={"properties": {"title": {"type": "text", "analyzer": "english"}}},
        )


@pytest.fixture
def products(es: Elasticsearch, unique_name: Callable[..., str]) -> str:
    index = unique_name()
    es.indices.create(
        index=index,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={
            "properties": {
                "title": {"type": "text"},
                "popularity": {"type": "float"},
                "suggest": {"type": "completion"},
            }
        },
    )
    es.index(index=index, id="red", document={"title": "red shoes", "popularity": 10, "suggest": ["red shoes"]})
    es.index(index=index, id="blue", document={"title": "blue shoes", "popularity": 1, "suggest": ["blue shoes"]})
    es.indices.refresh(index=index)
    return index


def test_named_queries_report_scores(es: Elasticsearch, products: str) -> None:
    response = es.search(
        index=products,
        query={
            "bool": {
                "should": [
                    {"match": {"title": {"query": "red", "_name": "colour"}}},
                    {"match": {"title": {"query": "shoes", "_name": "noun"}}},
                ]
            }
        },
        include_named_queries_score=True,
    )

    hits = {hit["_id"]: hit for hit in response["hits"]["hits"]}
    assert set(hits["red"]["matched_queries"]) == {"colour", "noun"}
    assert set(hits["blue"]["matched_queries"]) == {"noun"}
    for hit in hits.values():
        scores = hit["matched_queries"]
        for score in scores.values():
            assert isinstance(score, float)
            assert score > 0
        # A bool query's score is the sum of its matching should clauses.
        assert hit["_score"] == pytest.approx(sum(scores.values()), rel=1e-5)
    assert hits["red"]["matched_queries"]["noun"] == pytest.approx(hits["blue"]["matched_queries"]["noun"])


def test_completion_suggester(es: Elasticsearch, products: str) -> None:
    response = es.search(index=products, suggest={"title": {"prefix": "bl", "completion": {"field": "suggest"}}})

    options = response["suggest"]["title"][0]["options"]
    assert [option["text"] for option in options] == ["blue shoes"]
    assert options[0]["_id"] == "blue"


def test_function_score_field_value_factor(es: Elasticsearch, products: str) -> None:
    text_query = {"match": {"title": "shoes"}}
    text_scores = {hit["_id"]: hit["_score"] for hit in es.search(index=products, query=text_query)["hits"]["hits"]}

    response = es.search(
        index=products,
        query={
            "function_score": {
                "query": text_query,
                "field_value_factor": {"field": "popularity", "modifier": "log1p", "missing": 0},
                "boost_mode": "multiply",
            }
        },
    )

    hits = response["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == ["red", "blue"]
    # Elasticsearch's log1p modifier is log10(1 + value).
    for hit, popularity in zip(hits, (10, 1), strict=False):
        assert hit["_score"] == pytest.approx(text_scores[hit["_id"]] * math.log10(1 + popularity), rel=1e-5)
