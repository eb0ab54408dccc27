"""The feature schema: names, order and dtype shared by training and serving."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEATURE_DTYPE = np.float64


@dataclass(frozen=True)
class FeatureSchema:
    """An ordered, versioned list of feature names and which of them describe the user."""

    version: str
    names: tuple[str, ...]
    user_features: frozenset[str]

    def index(self, name: str) -> int:
        """Return the column of feature `name` in a feature vector."""
        return self.names.index(name)

    def user_columns(self) -> list[int]:
        """Return the columns that need a known user; they stay missing (NaN) without one."""
        return [i for i, name in enumerate(self.names) if name in self.user_features]

    def to_dict(self) -> dict[str, object]:
        """Describe the schema for model metadata."""
        return {
            "version": self.version,
            "names": list(self.names),
            "user_features": sorted(self.user_features),
            "dtype": "float64",
            "missing": "NaN, handled natively by LightGBM",
        }


# Features that need a known user; without one they stay missing (NaN).
USER_FEATURES = (
    "user_log_purchases",
    "cf_affinity",
    "cf_max_similarity",
    "text_affinity",
    "price_distance",
    "repeat_weight_share",
    "repeat_purchases",
    "days_since_item_event",
)

# Missing values are NaN and are never replaced by 0: LightGBM learns where they go.
SCHEMA = FeatureSchema(
    version="retail-v1",
    names=(
        # Retrieval scores of the candidate for this query.
        "retrieval_score",
        "retrieval_rank",
        "title_all_terms_score",
        "title_phrase_score",
        "title_fuzzy_score",
        # Item statistics.
        "item_log_price",
        "item_popularity",
        # The user, and the user's history with the item.
        *USER_FEATURES,
    ),
    user_features=frozenset(USER_FEATURES),
)
