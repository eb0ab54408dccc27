"""Tests of feature vectors and the item model on a handful of real products."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from rankers.features import PRICE_SPREAD_FLOOR, build_feature_vectors, without_user_features
from rankers.item_model import ItemModel
from rankers.popularity import decayed_popularity, popularity_increment
from rankers.profile import UserProfile
from rankers.retrieval import CLAUSE_ALL_TERMS, CLAUSE_FUZZY, CLAUSE_PHRASE, Candidate
from rankers.schema import SCHEMA

HALF_LIFE_DAYS = 30.0
AFFINITY_HALF_LIFE_DAYS = 90.0
DAY_S = 86400.0
T0 = 1_300_000_000.0
NOW = T0 + 10 * DAY_S

# Real products of the shop: doc_id -> (title, median unit price in GBP).
PRODUCTS: dict[str, tuple[str, float]] = {
    "85123A": ("WHITE HANGING HEART T-LIGHT HOLDER", 2.95),
    "21733": ("RED HANGING HEART T-LIGHT HOLDER", 2.95),
    "21313": ("GLASS HEART T-LIGHT HOLDER", 0.85),
    "22423": ("REGENCY CAKESTAND 3 TIER", 12.75),
    "47566": ("PARTY BUNTING", 4.95),
    "20725": ("LUNCH BAG RED RETROSPOT", 1.65),
    "22383": ("LUNCH BAG SUKI DESIGN", 1.65),
    "85099B": ("JUMBO BAG RED RETROSPOT", 2.08),
    "22086": ("PAPER CHAIN KIT 50'S CHRISTMAS", 2.95),
    "23084": ("RABBIT NIGHT LIGHT", 2.08),
}
# Purchases as (user_id, doc_id). No user buys 22086 or 23084.
PURCHASES = [
    ("u1", "85123A"), ("u1", "21733"), ("u1", "21313"),
    ("u2", "85123A"), ("u2", "21733"), ("u2", "22423"),
    ("u3", "20725"), ("u3", "22383"), ("u3", "85099B"),
    ("u4", "20725"), ("u4", "85099B"), ("u4", "47566"),
    ("u5", "22423"), ("u5", "47566"), ("u5", "21313"),
]


def candidate(doc_id: str, rank: int, title: str | None = None, with_price: bool = True) -> Candidate:
    """Return a retrieved candidate with the product's title and price, unless overridden."""
    known_title, known_price = PRODUCTS.get(doc_id, ("", None))
    return Candidate(
        doc_id=doc_id,
        title=title if title is not None else known_title,
        price=known_price if with_price else None,
        retrieval_score=10.0 - rank,
        retrieval_rank=rank,
        clause_scores={CLAUSE_ALL_TERMS: 2.0 * rank, CLAUSE_PHRASE: 3.0 * rank},
    )


def purchase_profile(events: list[tuple[str, float]], user_id: str = "u1") -> UserProfile:
    """Return a profile with one purchase per (doc_id, timestamp), at the product's price."""
    profile = UserProfile(user_id=user_id)
    for doc_id, timestamp in events:
        profile.apply("purchase", doc_id, timestamp, PRODUCTS[doc_id][1], AFFINITY_HALF_LIFE_DAYS, 200)
    return profile


def features(
    candidates: list[Candidate],
    profile: UserProfile | None,
    item_model: ItemModel,
    popularity: list[float | None] | None = None,
) -> np.ndarray:
    scores = popularity if popularity is not None else [None] * len(candidates)
    return build_feature_vectors(candidates, profile, scores, NOW, item_model, HALF_LIFE_DAYS)


@pytest.fixture(scope="module")
def item_model() -> ItemModel:
    titles = {doc_id: title for doc_id, (title, _) in PRODUCTS.items()}
    return ItemModel.fit(titles, [u for u, _ in PURCHASES], [d for _, d in PURCHASES], n_factors=4, seed=0)


def test_vectors_float64_in_schema_order(item_model: ItemModel) -> None:
    popularity = [popularity_increment(T0, HALF_LIFE_DAYS) * 3, None]

    matrix = features([candidate("85123A", 1), candidate("22423", 2)], None, item_model, popularity)

    assert matrix.dtype == np.float64
    assert matrix.shape == (2, len(SCHEMA.names))
    row = dict(zip(SCHEMA.names, matrix[1], strict=True))
    assert row["retrieval_score"] == 8.0
    assert row["retrieval_rank"] == 2.0
    assert row["title_all_terms_score"] == 4.0
    assert row["title_phrase_score"] == 6.0
    assert row["item_log_price"] == pytest.approx(math.log(12.75))
    assert list(SCHEMA.names[:5]) == [
        "retrieval_score", "retrieval_rank", "title_all_terms_score", "title_phrase_score", "title_fuzzy_score",
    ]


def test_vectors_missing_clause_and_popularity_nan(item_model: ItemModel) -> None:
    score = popularity_increment(T0, HALF_LIFE_DAYS) * 3

    matrix = features([candidate("85123A", 1), candidate("22423", 2)], None, item_model, [score, None])

    fuzzy, pop = SCHEMA.index("title_fuzzy_score"), SCHEMA.index("item_popularity")
    assert np.isnan(matrix[:, fuzzy]).all()
    assert matrix[0, pop] == pytest.approx(decayed_popularity(score, NOW, HALF_LIFE_DAYS))
    # Three purchases ten days ago with a 30-day half-life decay to 3 * 2^(-1/3) events.
    assert matrix[0, pop] == pytest.approx(math.log2(3) - 10 / 30)
    assert math.isnan(matrix[1, pop])


def test_vectors_fuzzy_clause_score(item_model: ItemModel) -> None:
    typo = Candidate("21733", "RED HANGING HEART T-LIGHT HOLDER", 2.95, 1.0, 1, {CLAUSE_FUZZY: 0.42})

    matrix = features([typo], None, item_model)

    assert matrix[0, SCHEMA.index("title_fuzzy_score")] == 0.42
    assert math.isnan(matrix[0, SCHEMA.index("title_all_terms_score")])


def test_vectors_empty_candidates(item_model: ItemModel) -> None:
    matrix = features([], purchase_profile([("85123A", T0)]), item_model)

    assert matrix.shape == (0, len(SCHEMA.names))
    assert matrix.dtype == np.float64


def test_no_profile_user_features_nan(item_model: ItemModel) -> None:
    candidates = [candidate("85123A", 1), candidate("22423", 2), candidate("unknown-doc", 3, title="HEART")]

    matrix = features(candidates, None, item_model)

    user_columns = SCHEMA.user_columns()
    assert len(user_columns) == len(SCHEMA.user_features) == 8
    assert np.isnan(matrix[:, user_columns]).all()
    assert not (matrix[:, user_columns] == 0).any()


def test_no_profile_item_features_present(item_model: ItemModel) -> None:
    matrix = features([candidate("85123A", 1)], None, item_model)

    item_columns = [i for i in range(len(SCHEMA.names)) if i not in SCHEMA.user_columns()]
    present = [SCHEMA.names[i] for i in item_columns if not math.isnan(matrix[0, i])]
    assert present == ["retrieval_score", "retrieval_rank", "title_all_terms_score", "title_phrase_score", "item_log_price"]


def test_repeat_purchase_features_bought_item(item_model: ItemModel) -> None:
    profile = purchase_profile([("85123A", T0), ("22423", T0 + DAY_S), ("85123A", T0 + 2 * DAY_S)])

    matrix = features([candidate("85123A", 1), candidate("22423", 2)], profile, item_model)

    row = dict(zip(SCHEMA.names, matrix[0], strict=True))
    total_weight = sum(affinity.weight for affinity in profile.items.values())
    assert row["repeat_purchases"] == 2.0
    assert row["repeat_weight_share"] == pytest.approx(profile.items["85123A"].weight / total_weight)
    assert row["repeat_weight_share"] > 0.5
    assert row["days_since_item_event"] == pytest.approx(8.0)
    assert row["user_log_purchases"] == pytest.approx(math.log1p(3))
    assert matrix[1, SCHEMA.index("repeat_purchases")] == 1.0
    assert matrix[1, SCHEMA.index("days_since_item_event")] == pytest.approx(9.0)


def test_repeat_purchase_features_not_bought(item_model: ItemModel) -> None:
    profile = purchase_profile([("85123A", T0)])

    matrix = features([candidate("47566", 1)], profile, item_model)

    row = dict(zip(SCHEMA.names, matrix[0], strict=True))
    assert row["repeat_purchases"] == 0.0
    assert row["repeat_weight_share"] == 0.0
    assert math.isnan(row["days_since_item_event"])


def test_price_distance_from_price_moments(item_model: ItemModel) -> None:
    profile = purchase_profile([("85123A", T0), ("21313", T0)])

    matrix = features([candidate("22423", 1)], profile, item_model)

    mean = (math.log(2.95) + math.log(0.85)) / 2
    spread = abs(math.log(2.95) - math.log(0.85)) / 2
    expected = abs(math.log(12.75) - mean) / (spread + PRICE_SPREAD_FLOOR)
    assert matrix[0, SCHEMA.index("price_distance")] == pytest.approx(expected)


def test_price_distance_nan_without_prices(item_model: ItemModel) -> None:
    profile = UserProfile(user_id="browser")
    profile.apply("click", "85123A", T0, None, AFFINITY_HALF_LIFE_DAYS, 200)
    profile.apply("view", "21733", T0 + 60, None, AFFINITY_HALF_LIFE_DAYS, 200)

    matrix = features([candidate("22423", 1), candidate("85123A", 2)], profile, item_model)

    assert profile.price_moments() is None
    assert np.isnan(matrix[:, SCHEMA.index("price_distance")]).all()
    assert matrix[0, SCHEMA.index("user_log_purchases")] == 0.0


def test_price_distance_nan_without_candidate_price(item_model: ItemModel) -> None:
    profile = purchase_profile([("85123A", T0)])

    matrix = features([candidate("22423", 1, with_price=False)], profile, item_model)

    assert math.isnan(matrix[0, SCHEMA.index("item_log_price")])
    assert math.isnan(matrix[0, SCHEMA.index("price_distance")])


def test_without_user_features_masks_user_columns(item_model: ItemModel) -> None:
    profile = purchase_profile([("85123A", T0), ("22423", T0 + DAY_S)])
    matrix = features([candidate("85123A", 1), candidate("21733", 2)], profile, item_model, [5.0, 7.0])

    masked = without_user_features(matrix)

    user_columns = SCHEMA.user_columns()
    other_columns = [i for i in range(len(SCHEMA.names)) if i not in user_columns]
    assert np.isnan(masked[:, user_columns]).all()
    np.testing.assert_array_equal(masked[:, other_columns], matrix[:, other_columns])
    # The input keeps its user features.
    assert not np.isnan(matrix[:, SCHEMA.index("repeat_purchases")]).any()


def test_item_model_round_trip(item_model: ItemModel, tmp_path: Path) -> None:
    profile = purchase_profile([("85123A", T0), ("20725", T0 + DAY_S), ("22423", T0 + 2 * DAY_S)])
    doc_ids = [*PRODUCTS, "unknown-doc"]
    titles = [PRODUCTS[d][0] for d in PRODUCTS] + ["HEART LUNCH BAG"]

    item_model.save(tmp_path)
    loaded = ItemModel.load(tmp_path)

    original = item_model.affinities(item_model.user_vectors(profile), doc_ids, titles)
    reloaded = loaded.affinities(loaded.user_vectors(profile), doc_ids, titles)
    assert loaded.doc_ids == item_model.doc_ids
    for before, after in zip(original, reloaded, strict=True):
        np.testing.assert_array_equal(before, after)


def test_unknown_candidate_nan_cf_text_from_title(item_model: ItemModel) -> None:
    profile = purchase_profile([("85123A", T0), ("21733", T0 + DAY_S)])
    user = item_model.user_vectors(profile)

    cf, cf_max, text = item_model.affinities(
        user, ["new-1", "new-2"], ["HANGING HEART T-LIGHT LANTERN", "CERAMIC TEAPOT"]
    )

    assert math.isnan(cf[0])
    assert math.isnan(cf_max[0])
    assert text[0] > 0.3
    assert text[1] == 0.0


def test_never_bought_item_nan_cf(item_model: ItemModel) -> None:
    profile = purchase_profile([("85123A", T0)])
    user = item_model.user_vectors(profile)

    cf, cf_max, text = item_model.affinities(user, ["23084", "21733"], [PRODUCTS["23084"][0], PRODUCTS["21733"][0]])

    assert math.isnan(cf[0])
    assert math.isnan(cf_max[0])
    assert text[0] > 0.0
    assert not math.isnan(cf[1])
    assert not math.isnan(cf_max[1])


def test_cf_max_excludes_item_itself(item_model: ItemModel) -> None:
    # The only item of the profile is the candidate itself, so it has no other neighbour.
    profile = purchase_profile([("85123A", T0)])

    matrix = features([candidate("85123A", 1)], profile, item_model)

    assert math.isnan(matrix[0, SCHEMA.index("cf_max_similarity")])
    assert matrix[0, SCHEMA.index("cf_affinity")] == pytest.approx(1.0)
    assert matrix[0, SCHEMA.index("text_affinity")] == pytest.approx(1.0)


def test_cf_affinity_similar_basket(item_model: ItemModel) -> None:
    # The heart holders are bought together, the lunch bags together.
    profile = purchase_profile([("85123A", T0), ("21313", T0)])

    matrix = features([candidate("21733", 1), candidate("22383", 2)], profile, item_model)

    cf = SCHEMA.index("cf_affinity")
    assert matrix[0, cf] > matrix[1, cf]
