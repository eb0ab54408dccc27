"""Tests of GET /v1/search against a real Elasticsearch index, real Redis profiles and a real model.

Each test gets its own world: about 300 real products under a unique alias, a model registry in
tmp_path with a small LightGBM ranker, and a shopper's purchases folded into Redis by the consumer.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
import redis
from elasticsearch import Elasticsearch
from flask.testing import FlaskClient

from indexing import build, product_to_doc
from rankers.item_model import ItemModel
from rankers.registry import ModelRegistry
from rankers.retrieval import build_search_body
from rankers.schema import SCHEMA
from sample_data.online_retail import Purchase, load_online_retail
from search_api.app import create_app
from settings import Settings
from workers.consumer import consume
from workers.events import validate_events
from workers.importer import purchase_to_event
from workers.stream import append_events

WINDOW = 20
QUERY = "heart"
# Nothing listens on port 1 of the loopback address, so connections are refused at once.
CLOSED_REDIS_URL = "redis://127.0.0.1:1/0"
CLOSED_ES_URL = "http://127.0.0.1:1"


@dataclass(frozen=True)
class Shop:
    docs: list[dict[str, Any]]
    titles: dict[str, str]
    shopper: str
    shopper_purchases: list[Purchase]
    item_model: ItemModel
    booster: lgb.Booster


def train_booster() -> lgb.Booster:
    """Train a small lambdarank booster on the real feature names: a candidate the user bought is relevant."""
    rng = np.random.default_rng(0)
    groups, size = 60, WINDOW
    features = rng.normal(size=(groups * size, len(SCHEMA.names)))
    purchases = np.zeros(groups * size)
    for group in range(groups):
        bought = rng.choice(size, 2, replace=False) + group * size
        purchases[bought] = rng.integers(1, 6, size=2)
    features[:, SCHEMA.index("repeat_purchases")] = purchases
    features[purchases == 0, SCHEMA.index("days_since_item_event")] = math.nan
    labels = (purchases > 0).astype(int)

    dataset = lgb.Dataset(features, labels, group=[size] * groups, feature_name=list(SCHEMA.names))
    params = {
        "objective": "lambdarank",
        "num_leaves": 4,
        "min_data_in_leaf": 5,
        "learning_rate": 0.2,
        "seed": 0,
        "deterministic": True,
        "num_threads": 1,
        "verbosity": -1,
    }
    return lgb.train(params, dataset, num_boost_round=20)


@pytest.fixture(scope="module")
def shop() -> Shop:
    """Pick 40 'heart' products and 248 others, the heaviest heart buyer among them, and fit the models."""
    data = load_online_retail()
    hearts = [p for p in data.catalog if "HEART" in p.title][:40]
    others = [p for p in data.catalog if "HEART" not in p.title][::14][:248]
    products = hearts + others
    titles = {p.doc_id: p.title for p in products}

    purchases = [p for p in data.purchases if p.doc_id in titles]
    heart_ids = {p.doc_id for p in hearts}
    shopper = Counter(p.user_id for p in purchases if p.doc_id in heart_ids).most_common(1)[0][0]

    return Shop(
        docs=[product_to_doc(p) for p in products],
        titles=titles,
        shopper=shopper,
        shopper_purchases=[p for p in purchases if p.user_id == shopper],
        item_model=ItemModel.fit(titles, [p.user_id for p in purchases], [p.doc_id for p in purchases], n_factors=16),
        booster=train_booster(),
    )


@pytest.fixture
def alias(es: Elasticsearch, unique_name: str, shop: Shop) -> str:
    name = f"{unique_name}-products"
    build(es, shop.docs, alias=name)
    return name


@pytest.fixture
def registry(tmp_path: Path, shop: Shop) -> ModelRegistry:
    registry = ModelRegistry(tmp_path / "models")
    registry.save("v1", shop.booster, shop.item_model, {})
    registry.activate("v1")
    return registry


@pytest.fixture
def settings(alias: str, registry: ModelRegistry, redis_url_for_tests: str, unique_name: str) -> Settings:
    return Settings(
        index_alias=alias,
        redis_url=redis_url_for_tests,
        model_dir=registry.root,
        window_size=WINDOW,
        model_check_interval_s=0,
        stream_key=f"tailor:events:{unique_name}",
        es_timeout_s=5.0,
        redis_timeout_s=2.0,
    )


@pytest.fixture
def shopper(shop: Shop, settings: Settings, redis_db: redis.Redis) -> str:
    """Write the shopper's profile the way production does: events into the stream, then the consumer."""
    raw = [purchase_to_event(p) for p in shop.shopper_purchases]
    events, rejected = validate_events(raw)
    assert rejected == []
    append_events(redis_db, events, settings)
    report = consume(redis_db, settings, "search-test", max_events=10_000)
    assert report.applied == len(events)
    return shop.shopper


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    return create_app(settings).test_client()


def retrieval_ids(es: Elasticsearch, alias: str, query: str, size: int) -> list[str]:
    """Return the doc ids of a plain retrieval request, in Elasticsearch order."""
    response = es.search(index=alias, body=build_search_body(query, size))
    return [hit["_source"]["doc_id"] for hit in response["hits"]["hits"]]


def search(client: FlaskClient, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/search", query_string=params)
    body = response.get_json()
    assert response.status_code == 200, body
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [hit["id"] for hit in body["hits"]]


def reject_constant(name: str) -> None:
    raise ValueError(f"The response contains {name}, which is not valid JSON")


def test_search_response_shape(client: FlaskClient, shopper: str) -> None:
    body = search(client, q=QUERY, user_id=shopper, size=5)

    assert set(body) >= {
        "search_id", "query", "page", "size", "total", "hits", "personalized", "reason", "model_version", "timings_ms",
    }
    assert len(body["search_id"]) == 32
    assert body["query"] == QUERY
    assert body["page"] == 1
    assert body["size"] == 5
    assert body["total"] == 37
    assert body["model_version"] == "v1"
    assert len(body["hits"]) == 5
    for hit in body["hits"]:
        assert set(hit) == {"id", "title", "price", "score", "retrieval_position", "reranked"}
        assert "HEART" in hit["title"]
        assert isinstance(hit["price"], float)
        assert isinstance(hit["score"], float)
        assert 1 <= hit["retrieval_position"] <= WINDOW
    assert set(body["timings_ms"]) == {"retrieval", "features", "rerank", "total"}
    assert all(value >= 0 for value in body["timings_ms"].values())
    assert body["timings_ms"]["total"] >= body["timings_ms"]["retrieval"]


def test_search_ids_differ_per_request(client: FlaskClient, shopper: str) -> None:
    first = search(client, q=QUERY, user_id=shopper)
    second = search(client, q=QUERY, user_id=shopper)

    assert first["search_id"] != second["search_id"]


def test_search_personalized_known_user(
    client: FlaskClient, shopper: str, shop: Shop, es: Elasticsearch, alias: str
) -> None:
    body = search(client, q=QUERY, user_id=shopper, size=WINDOW)

    retrieval = retrieval_ids(es, alias, QUERY, WINDOW)
    bought = {p.doc_id for p in shop.shopper_purchases}
    assert body["personalized"] is True
    assert body["reason"] is None
    assert body["model_version"] == "v1"
    assert sorted(ids(body)) == sorted(retrieval)
    assert len(set(ids(body))) == WINDOW
    assert all(hit["reranked"] for hit in body["hits"])
    assert ids(body) != retrieval
    # The model ranks items the user bought first, and the shopper bought some of the window.
    assert ids(body)[0] in bought
    for hit in body["hits"]:
        assert retrieval[hit["retrieval_position"] - 1] == hit["id"]


def test_search_scores_descend_in_window(client: FlaskClient, shopper: str) -> None:
    body = search(client, q=QUERY, user_id=shopper, size=WINDOW)

    scores = [hit["score"] for hit in body["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_search_float_user_id_same_user(client: FlaskClient, shopper: str) -> None:
    plain = search(client, q=QUERY, user_id=shopper, size=WINDOW)
    spelled = search(client, q=QUERY, user_id=f" {shopper}.0 ", size=WINDOW)

    assert spelled["personalized"] is True
    assert ids(spelled) == ids(plain)


def test_search_no_user_retrieval_order(client: FlaskClient, shopper: str, es: Elasticsearch, alias: str) -> None:
    body = search(client, q=QUERY, size=WINDOW)

    assert body["personalized"] is False
    assert body["reason"] == "no_user"
    assert body["model_version"] == "v1"
    assert ids(body) == retrieval_ids(es, alias, QUERY, WINDOW)
    assert [hit["retrieval_position"] for hit in body["hits"]] == list(range(1, WINDOW + 1))
    assert not any(hit["reranked"] for hit in body["hits"])


def test_search_empty_user_id_is_no_user(client: FlaskClient, shopper: str) -> None:
    body = search(client, q=QUERY, user_id="  ")

    assert body["reason"] == "no_user"


def test_search_unknown_user_retrieval_order(
    client: FlaskClient, shopper: str, es: Elasticsearch, alias: str
) -> None:
    body = search(client, q=QUERY, user_id="no-such-customer", size=WINDOW)

    assert body["personalized"] is False
    assert body["reason"] == "unknown_user"
    assert ids(body) == retrieval_ids(es, alias, QUERY, WINDOW)
    assert not any(hit["reranked"] for hit in body["hits"])


def test_search_no_model_retrieval_order(
    settings: Settings, shopper: str, es: Elasticsearch, alias: str, tmp_path: Path
) -> None:
    client = create_app(settings.model_copy(update={"model_dir": tmp_path / "empty-registry"})).test_client()

    body = search(client, q=QUERY, user_id=shopper, size=WINDOW)

    assert body["personalized"] is False
    assert body["reason"] == "no_model"
    assert body["model_version"] is None
    assert ids(body) == retrieval_ids(es, alias, QUERY, WINDOW)
    assert not any(hit["reranked"] for hit in body["hits"])


def test_search_redis_down_retrieval_order(settings: Settings, shop: Shop, es: Elasticsearch, alias: str) -> None:
    client = create_app(settings.model_copy(update={"redis_url": CLOSED_REDIS_URL})).test_client()

    response = client.get("/v1/search", query_string={"q": QUERY, "user_id": shop.shopper, "size": WINDOW})

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["personalized"] is False
    assert body["reason"] == "redis_unavailable"
    assert ids(body) == retrieval_ids(es, alias, QUERY, WINDOW)
    assert not any(hit["reranked"] for hit in body["hits"])


def test_search_es_down_503(settings: Settings) -> None:
    client = create_app(settings.model_copy(update={"es_url": CLOSED_ES_URL})).test_client()

    response = client.get("/v1/search", query_string={"q": QUERY})

    body = response.get_json()
    assert response.status_code == 503
    assert body["error"]["code"] == "retrieval_unavailable"
    assert CLOSED_ES_URL in body["error"]["message"]


def test_search_missing_alias_503(settings: Settings, unique_name: str) -> None:
    missing = f"{unique_name}-missing"
    client = create_app(settings.model_copy(update={"index_alias": missing})).test_client()

    response = client.get("/v1/search", query_string={"q": QUERY})

    body = response.get_json()
    assert response.status_code == 503
    assert body["error"]["code"] == "retrieval_unavailable"
    assert repr(missing) in body["error"]["message"]


def test_search_pages_cover_all_hits_once(
    client: FlaskClient, shopper: str, es: Elasticsearch, alias: str
) -> None:
    size = 7
    retrieval = retrieval_ids(es, alias, QUERY, 100)
    pages = math.ceil(len(retrieval) / size)

    hits: list[dict[str, Any]] = []
    for page in range(1, pages + 2):
        body = search(client, q=QUERY, user_id=shopper, size=size, page=page)
        assert body["total"] == len(retrieval)
        assert body["personalized"] is True
        hits.extend(body["hits"])

    concatenated = [hit["id"] for hit in hits]
    assert len(retrieval) == 37
    assert len(concatenated) == len(retrieval)
    assert len(set(concatenated)) == len(concatenated)
    assert set(concatenated) == set(retrieval)
    assert set(concatenated[:WINDOW]) == set(retrieval[:WINDOW])
    assert concatenated[:WINDOW] != retrieval[:WINDOW]
    assert concatenated[WINDOW:] == retrieval[WINDOW:]
    assert all(hit["reranked"] for hit in hits[:WINDOW])
    assert not any(hit["reranked"] for hit in hits[WINDOW:])
    assert [hit["retrieval_position"] for hit in hits[WINDOW:]] == list(range(WINDOW + 1, len(retrieval) + 1))


def test_search_page_past_end_empty(client: FlaskClient, shopper: str) -> None:
    body = search(client, q=QUERY, user_id=shopper, size=10, page=9)

    assert body["hits"] == []
    assert body["total"] == 37


def test_search_no_match_empty(client: FlaskClient, shopper: str) -> None:
    body = search(client, q="zzzzqqqq", user_id=shopper)

    assert body["hits"] == []
    assert body["total"] == 0
    assert body["personalized"] is False
    assert body["reason"] == "no_candidates"


def test_search_empty_query_lists_best_sellers(client: FlaskClient, shop: Shop) -> None:
    body = search(client, size=5)

    times_sold = {doc["doc_id"]: doc["times_sold"] for doc in shop.docs}
    best = sorted(times_sold.values(), reverse=True)[:5]
    assert body["total"] == len(shop.docs)
    assert [times_sold[doc_id] for doc_id in ids(body)] == best


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"size": "101"}, "size", "size must be between 1 and 100; got 101."),
        ({"size": "0"}, "size", "size must be between 1 and 100; got 0."),
        ({"size": "-3"}, "size", "size must be between 1 and 100; got -3."),
        ({"page": "two"}, "page", "page must be an integer; got 'two'."),
        ({"page": "0"}, "page", "page must be between 1 and 100; got 0."),
        ({"page": "101"}, "page", "page must be between 1 and 100; got 101."),
        ({"q": "x" * 201}, "q", "Query is 201 characters long; the maximum is 200."),
        ({"sort": "price"}, "sort", "Unknown parameter 'sort'; expected one of debug, page, q, size, user_id."),
        ({"debug": "maybe"}, "debug", "debug must be true or false; got 'maybe'."),
        ({"user_id": "u" * 129}, "user_id", "user_id is longer than 128 characters."),
    ],
)
def test_search_bad_parameter_400(tmp_path: Path, params: dict[str, str], field: str, message: str) -> None:
    # Both services are unreachable, so a 400 shows that validation runs before any I/O.
    down = Settings(es_url=CLOSED_ES_URL, redis_url=CLOSED_REDIS_URL, model_dir=tmp_path)
    client = create_app(down).test_client()

    response = client.get("/v1/search", query_string={"q": "heart", **params})

    body = response.get_json()
    assert response.status_code == 400
    assert body["error"]["code"] == "invalid_parameter"
    assert body["error"]["field"] == field
    assert body["error"]["message"] == message


def test_search_debug_features_and_contributions(client: FlaskClient, shopper: str, shop: Shop) -> None:
    response = client.get("/v1/search", query_string={"q": QUERY, "user_id": shopper, "size": WINDOW, "debug": "true"})

    assert response.status_code == 200
    body = json.loads(response.get_data(as_text=True), parse_constant=reject_constant)
    bought = {p.doc_id for p in shop.shopper_purchases}
    assert body["personalized"] is True
    for hit in body["hits"]:
        features = hit["debug"]["features"]
        contributions = hit["debug"]["contributions"]
        # Flask sorts the keys of JSON objects, so only the set of names is compared.
        assert set(features) == set(SCHEMA.names)
        assert all(value is None or isinstance(value, float) for value in features.values())
        assert set(contributions) == {*SCHEMA.names, "bias"}
        assert sum(contributions.values()) == pytest.approx(hit["score"], abs=1e-6)
        assert features["retrieval_rank"] == hit["retrieval_position"]
        assert features["user_log_purchases"] is not None
        if hit["id"] in bought:
            assert features["repeat_purchases"] >= 1
            assert features["days_since_item_event"] is not None
        else:
            assert features["repeat_purchases"] == 0
            assert features["days_since_item_event"] is None


def test_search_debug_off_by_default(client: FlaskClient, shopper: str) -> None:
    body = search(client, q=QUERY, user_id=shopper, debug="false")

    assert all("debug" not in hit for hit in body["hits"])


def test_search_hot_reload_new_version(
    client: FlaskClient, shopper: str, registry: ModelRegistry, shop: Shop
) -> None:
    before = search(client, q=QUERY, user_id=shopper)
    registry.save("v2", shop.booster, shop.item_model, {})
    registry.activate("v2")

    after = search(client, q=QUERY, user_id=shopper)

    assert before["model_version"] == "v1"
    assert after["model_version"] == "v2"
    assert after["personalized"] is True
