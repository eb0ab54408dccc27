"""Parity of offline and online features on real purchases.

Training folds purchases in memory with `ReplayState`, and serving reads what the stream consumer
wrote to Redis. The same purchases must give the same feature vectors either way.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
import redis

from rankers import feature_store
from rankers.features import build_feature_vectors
from rankers.item_model import ItemModel
from rankers.retrieval import CLAUSE_ALL_TERMS, CLAUSE_PHRASE, Candidate
from rankers.schema import SCHEMA
from rankers.training_data import ReplayState
from sample_data.online_retail import Product, Purchase, load_online_retail
from settings import Settings
from workers.consumer import consume
from workers.events import validate_events
from workers.importer import purchase_to_event
from workers.stream import append_events

PURCHASE_COUNT = 3000
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Shop:
    catalog: dict[str, Product]
    purchases: list[Purchase]
    item_model: ItemModel


@pytest.fixture(scope="module")
def shop() -> Shop:
    data = load_online_retail()
    purchases = data.purchases[:PURCHASE_COUNT]
    catalog = {product.doc_id: product for product in data.catalog}
    item_model = ItemModel.fit(
        {doc_id: product.title for doc_id, product in catalog.items()},
        [p.user_id for p in purchases],
        [p.doc_id for p in purchases],
        n_factors=16,
    )
    return Shop(catalog=catalog, purchases=purchases, item_model=item_model)


@pytest.fixture
def settings(redis_url_for_tests: str, unique_name: str) -> Settings:
    # A small batch size spreads the purchases over many consumer batches.
    return Settings(redis_url=redis_url_for_tests, stream_key=f"tailor:events:{unique_name}", consumer_batch_size=250)


@pytest.fixture
def replayed(shop: Shop, settings: Settings) -> ReplayState:
    state = ReplayState()
    for purchase in shop.purchases:
        state.apply_purchase(purchase, settings)
    return state


@pytest.fixture
def consumed(shop: Shop, settings: Settings, redis_db: redis.Redis) -> redis.Redis:
    """Send the purchases through the real path: validate, append to the stream, consume into Redis."""
    raw = [purchase_to_event(p) for p in shop.purchases]
    events, rejected = validate_events(raw)
    assert rejected == []
    append_events(redis_db, events, settings)

    report = consume(redis_db, settings, "parity-test", max_events=10 * PURCHASE_COUNT)

    assert report.applied == PURCHASE_COUNT
    assert report.invalid == 0
    assert report.left_pending == 0
    return redis_db


def candidates_for(user_id: str, shop: Shop, state: ReplayState) -> list[Candidate]:
    """Mix the user's own items, popular items, never-bought items, an unknown doc and a price-less doc."""
    own = sorted(state.profiles[user_id].items)[:6]
    popular = [doc_id for doc_id, _ in Counter(p.doc_id for p in shop.purchases).most_common(40)][::5]
    never_bought = sorted(set(shop.catalog) - set(state.popularity))[:3]
    doc_ids = list(dict.fromkeys([*own, *popular, *never_bought]))

    candidates = []
    for rank, doc_id in enumerate(doc_ids, start=1):
        product = shop.catalog[doc_id]
        candidates.append(
            Candidate(
                doc_id=doc_id,
                title=product.title,
                price=product.price,
                retrieval_score=20.0 / rank,
                retrieval_rank=rank,
                clause_scores={CLAUSE_ALL_TERMS: 1.0 / rank, CLAUSE_PHRASE: 0.5} if rank % 2 else {},
            )
        )
    rank = len(candidates) + 1
    candidates.append(Candidate("NOT-IN-CATALOG", "HEART SHAPED MIRROR", 3.5, 0.5, rank, {}))
    candidates.append(Candidate("PRICELESS", "GLASS JAR", None, 0.4, rank + 1, {}))
    return candidates


def chosen_users(state: ReplayState) -> list[str]:
    """Pick the two heaviest buyers, a median one and one with a single purchase."""
    by_count = sorted(state.profiles, key=lambda u: (-state.profiles[u].purchase_count, u))
    single = next(u for u in by_count if state.profiles[u].purchase_count == 1)
    return [by_count[0], by_count[1], by_count[len(by_count) // 2], single]


def assert_same_features(offline: np.ndarray, online: np.ndarray) -> None:
    offline_nan = np.isnan(offline)
    online_nan = np.isnan(online)
    assert offline.shape == online.shape
    assert (offline_nan == online_nan).all(), np.argwhere(offline_nan != online_nan)
    difference = np.abs(offline[~offline_nan] - online[~online_nan])
    assert difference.max(initial=0.0) <= TOLERANCE


def test_parity_state_matches_redis(shop: Shop, replayed: ReplayState, consumed: redis.Redis) -> None:
    doc_ids = sorted(replayed.popularity)

    snapshot = feature_store.fetch(consumed, None, doc_ids)

    assert snapshot.now == replayed.clock
    for doc_id, score in zip(doc_ids, snapshot.popularity_scores, strict=True):
        assert score is not None, doc_id
        assert math.isclose(score, replayed.popularity[doc_id], rel_tol=1e-12), doc_id


def test_parity_profiles_match(shop: Shop, replayed: ReplayState, consumed: redis.Redis) -> None:
    users = chosen_users(replayed)

    for user_id in users:
        online = feature_store.fetch(consumed, user_id, []).profile
        offline = replayed.profiles[user_id]
        assert online is not None, user_id
        assert online.purchase_count == offline.purchase_count, user_id
        assert online.items.keys() == offline.items.keys(), user_id
        # Both paths apply the same purchases in the same order, and JSON keeps every float exactly.
        assert online == offline, user_id


def test_parity_feature_vectors(shop: Shop, settings: Settings, replayed: ReplayState, consumed: redis.Redis) -> None:
    users = chosen_users(replayed)
    heaviest = users[0]
    assert replayed.profiles[heaviest].purchase_count > 50
    assert replayed.profiles[users[-1]].purchase_count == 1

    for user_id in users:
        candidates = candidates_for(user_id, shop, replayed)
        offline = build_feature_vectors(
            candidates,
            replayed.profiles[user_id],
            [replayed.popularity.get(c.doc_id) for c in candidates],
            replayed.clock,
            shop.item_model,
            settings.popularity_half_life_days,
        )
        snapshot = feature_store.fetch(consumed, user_id, [c.doc_id for c in candidates])
        assert snapshot.now is not None
        online = build_feature_vectors(
            candidates,
            snapshot.profile,
            snapshot.popularity_scores,
            snapshot.now,
            shop.item_model,
            settings.popularity_half_life_days,
        )

        assert_same_features(offline, online)
        # The comparison covers real values, not only missing ones.
        assert not np.isnan(online[:, SCHEMA.index("user_log_purchases")]).any(), user_id
        assert not np.isnan(online[:, SCHEMA.index("text_affinity")]).all(), user_id
        assert not np.isnan(online[:, SCHEMA.index("item_popularity")]).all(), user_id
        if user_id == heaviest:
            assert not np.isnan(online[:, SCHEMA.index("cf_affinity")]).all()
            assert not np.isnan(online[:, SCHEMA.index("cf_max_similarity")]).all()
        assert not np.isnan(online[:, SCHEMA.index("days_since_item_event")]).all(), user_id


def test_parity_unknown_user_features(shop: Shop, settings: Settings, replayed: ReplayState, consumed: redis.Redis) -> None:
    candidates = candidates_for(chosen_users(replayed)[0], shop, replayed)

    snapshot = feature_store.fetch(consumed, "never-seen", [c.doc_id for c in candidates])
    assert snapshot.profile is None
    assert snapshot.now is not None
    online = build_feature_vectors(
        candidates, None, snapshot.popularity_scores, snapshot.now, shop.item_model, settings.popularity_half_life_days
    )
    offline = build_feature_vectors(
        candidates,
        None,
        [replayed.popularity.get(c.doc_id) for c in candidates],
        replayed.clock,
        shop.item_model,
        settings.popularity_half_life_days,
    )

    assert_same_features(offline, online)
