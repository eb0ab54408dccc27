"""Index settings and mappings of the product catalog."""

from __future__ import annotations

from typing import Any

# Value that function_score's field_value_factor should use for `missing`, because a
# doc has no `popularity` until item statistics are written with update_fields.
POPULARITY_MISSING = 0.0

# Analyzer of the completion field. `standard` is built into every node and keeps digits,
# which the completion default `simple` drops (product codes, sizes).
SUGGEST_ANALYZER = "standard"


def index_body(
    title_analyzer: str,
    *,
    shards: int = 1,
    replicas: int = 0,
    refresh_interval: str = "1s",
) -> dict[str, Any]:
    """Return the `settings` and `mappings` of a new catalog index."""
    settings = {
        "index": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "refresh_interval": refresh_interval,
        }
    }

    mappings = {
        # A misspelled field in a doc must fail that doc instead of adding a field.
        "dynamic": "strict",
        "properties": {
            "doc_id": {"type": "keyword"},
            "title": {
                "type": "text",
                "analyzer": title_analyzer,
                "fields": {
                    "keyword": {
                        "type": "keyword",
                        "normalizer": "lowercase",
                        "ignore_above": 256,
                    }
                },
            },
            "title_suggest": {
                "type": "completion",
                "analyzer": SUGGEST_ANALYZER,
            },
            "price": {"type": "float"},
            "first_sold": {"type": "date", "format": "epoch_second"},
            "times_sold": {"type": "integer"},
            "popularity": {"type": "float"},
        },
    }

    return {"settings": settings, "mappings": mappings}
