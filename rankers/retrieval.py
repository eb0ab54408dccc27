"""The Elasticsearch candidate query and the candidates it returns, shared by search and training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Named clauses whose scores become features; the names are the keys of `matched_queries`.
CLAUSE_ALL_TERMS = "title_all_terms"
CLAUSE_PHRASE = "title_phrase"
CLAUSE_FUZZY = "title_fuzzy"

SOURCE_FIELDS = ["doc_id", "title", "price"]
# Only these parts of the response are sent and parsed.
RESPONSE_FILTER = [
    "hits.total",
    "hits.hits._id",
    "hits.hits._score",
    "hits.hits._source",
    "hits.hits.matched_queries",
]


@dataclass(frozen=True)
class Candidate:
    """One retrieved document with the scores retrieval gave it."""

    doc_id: str
    title: str
    price: float | None
    retrieval_score: float
    retrieval_rank: int
    clause_scores: Mapping[str, float]


def build_query(query: str) -> dict[str, Any]:
    """Build the bool query: any term matches, and all terms, the phrase and near-misses score extra.

    Every clause is named so one request returns each clause's score as a feature.
    """
    text = query.strip()
    if not text:
        # Browsing without a query lists the best sellers first.
        return {
            "function_score": {
                "query": {"match_all": {}},
                "field_value_factor": {"field": "times_sold", "modifier": "log1p", "missing": 0},
                "boost_mode": "replace",
            }
        }

    return {
        "bool": {
            "should": [
                # Unnamed: its score is the bulk of the hit's score, and each named clause
                # costs a re-score of every returned hit.
                {"match": {"title": {"query": text}}},
                {"match": {"title": {"query": text, "operator": "and", "_name": CLAUSE_ALL_TERMS}}},
                {"match_phrase": {"title": {"query": text, "_name": CLAUSE_PHRASE}}},
                {
                    "match": {
                        "title": {
                            "query": text,
                            "fuzziness": "AUTO",
                            "prefix_length": 1,
                            "boost": 0.3,
                            "_name": CLAUSE_FUZZY,
                        }
                    }
                },
            ],
            "minimum_should_match": 1,
        }
    }


def build_search_body(query: str, size: int) -> dict[str, Any]:
    """Build the whole search request body for the top `size` candidates."""
    return {
        "query": build_query(query),
        # Equal scores are common for short titles; doc_id breaks ties so every build of the
        # index returns the same order, and training data is repeatable.
        "sort": ["_score", {"doc_id": "asc"}],
        "size": size,
        "_source": SOURCE_FIELDS,
        "track_total_hits": True,
    }


def parse_hits(hits: Sequence[Mapping[str, Any]], offset: int = 0) -> list[Candidate]:
    """Turn raw Elasticsearch hits into candidates, ranks starting at `offset + 1`."""
    candidates = []
    for i, hit in enumerate(hits):
        doc = hit.get("_source", {})
        matched = hit.get("matched_queries") or {}
        # Without include_named_queries_score the node returns a list of names and no scores.
        clause_scores = dict(matched) if isinstance(matched, Mapping) else {}
        price = doc.get("price")
        candidates.append(
            Candidate(
                doc_id=str(doc.get("doc_id", hit["_id"])),
                title=str(doc.get("title", "")),
                price=float(price) if price is not None else None,
                retrieval_score=float(hit.get("_score") or 0.0),
                retrieval_rank=offset + i + 1,
                clause_scores=clause_scores,
            )
        )

    return candidates
