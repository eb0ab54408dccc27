"""Feature vectors for (user, query, candidate) triples, computed the same way offline and online."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rankers.item_model import ItemModel
from rankers.popularity import decayed_popularity
from rankers.profile import UserProfile
from rankers.retrieval import CLAUSE_ALL_TERMS, CLAUSE_FUZZY, CLAUSE_PHRASE, Candidate
from rankers.schema import FEATURE_DTYPE, SCHEMA

# Added to the spread of the user's log prices so one-price users do not make every
# other price look infinitely far away.
PRICE_SPREAD_FLOOR = 0.25


def build_feature_vectors(
    candidates: Sequence[Candidate],
    profile: UserProfile | None,
    popularity_scores: Sequence[float | None],
    now: float,
    item_model: ItemModel,
    popularity_half_life_days: float,
) -> np.ndarray:
    """Return one float64 feature vector per candidate, in SCHEMA order, NaN where unknown.

    `profile` is None for an anonymous or unknown user: every user feature then stays NaN.
    """
    n = len(candidates)
    matrix = np.full((n, len(SCHEMA.names)), math.nan, dtype=FEATURE_DTYPE)
    if n == 0:
        return matrix
    column = SCHEMA.index

    # Retrieval.
    matrix[:, column("retrieval_score")] = [c.retrieval_score for c in candidates]
    matrix[:, column("retrieval_rank")] = [c.retrieval_rank for c in candidates]
    for name, clause in (
        ("title_all_terms_score", CLAUSE_ALL_TERMS),
        ("title_phrase_score", CLAUSE_PHRASE),
        ("title_fuzzy_score", CLAUSE_FUZZY),
    ):
        matrix[:, column(name)] = [c.clause_scores.get(clause, math.nan) for c in candidates]

    # Item.
    log_prices = np.array(
        [math.log(c.price) if c.price is not None and c.price > 0 else math.nan for c in candidates]
    )
    matrix[:, column("item_log_price")] = log_prices
    matrix[:, column("item_popularity")] = [
        decayed_popularity(score, now, popularity_half_life_days) if score else math.nan
        for score in popularity_scores
    ]

    if profile is None:
        return matrix

    # User and user-item.
    matrix[:, column("user_log_purchases")] = math.log1p(profile.purchase_count)

    doc_ids = [c.doc_id for c in candidates]
    user = item_model.user_vectors(profile)
    cf, cf_max, text = item_model.affinities(user, doc_ids, [c.title for c in candidates])
    matrix[:, column("cf_affinity")] = cf
    matrix[:, column("cf_max_similarity")] = cf_max
    matrix[:, column("text_affinity")] = text

    moments = profile.price_moments()
    if moments is not None:
        mean, spread = moments
        matrix[:, column("price_distance")] = np.abs(log_prices - mean) / (spread + PRICE_SPREAD_FLOOR)

    total_weight = sum(a.weight for a in profile.items.values())
    shares, purchases, days_since = [], [], []
    for doc_id in doc_ids:
        affinity = profile.items.get(doc_id)
        if affinity is None:
            shares.append(0.0)
            purchases.append(0.0)
            days_since.append(math.nan)
            continue
        shares.append(affinity.weight / total_weight if total_weight > 0 else 0.0)
        purchases.append(float(affinity.purchases))
        days_since.append(max(now - affinity.last_ts, 0.0) / 86400.0)
    matrix[:, column("repeat_weight_share")] = shares
    matrix[:, column("repeat_purchases")] = purchases
    matrix[:, column("days_since_item_event")] = days_since

    return matrix


def without_user_features(matrix: np.ndarray) -> np.ndarray:
    """Return a copy with every user feature missing, as the non-personalized model is trained and scored."""
    masked = matrix.copy()
    masked[:, SCHEMA.user_columns()] = math.nan

    return masked
