"""The search pipeline: retrieve, read features, rerank the window with the model, paginate."""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import redis
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError

from rankers import feature_store
from rankers.features import build_feature_vectors
from rankers.registry import RankingModel
from rankers.retrieval import RESPONSE_FILTER, Candidate, build_search_body, parse_hits
from rankers.schema import SCHEMA
from search_api.params import SearchParams
from settings import Settings

logger = logging.getLogger(__name__)


class RetrievalUnavailable(Exception):
    """Elasticsearch failed or timed out, so there are no candidates to rank."""


@dataclass(frozen=True)
class RankedHit:
    """A hit as the storefront receives it."""

    candidate: Candidate
    score: float
    reranked: bool
    debug: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Render the hit for the JSON response."""
        body: dict[str, Any] = {
            "id": self.candidate.doc_id,
            "title": self.candidate.title,
            "price": self.candidate.price,
            "score": self.score,
            "retrieval_position": self.candidate.retrieval_rank,
            "reranked": self.reranked,
        }
        if self.debug is not None:
            body["debug"] = self.debug

        return body


@dataclass
class SearchResult:
    """A page of results and how it was produced."""

    search_id: str
    hits: list[RankedHit]
    total: int
    personalized: bool
    reason: str | None
    model_version: str | None
    timings_ms: dict[str, float] = field(default_factory=dict)


def run_search(
    params: SearchParams,
    es: Elasticsearch,
    redis_client: redis.Redis,
    model: RankingModel | None,
    settings: Settings,
) -> SearchResult:
    """Run one search request end to end, degrading to retrieval order when personalization cannot run."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    search_id = uuid.uuid4().hex
    start = (params.page - 1) * params.size
    end = start + params.size

    # 1. Retrieve the rerank window, or more when the page reaches past it.
    candidates, total = retrieve(es, settings, params.query, max(settings.window_size, end))
    window = candidates[: settings.window_size]
    timings["retrieval"] = elapsed_ms(started)

    # 2. Read the user's features and the candidates' popularity in one round trip.
    step = time.perf_counter()
    reason = personalization_blocker(params, model, window)
    snapshot = None
    if reason is None:
        try:
            snapshot = feature_store.fetch(redis_client, params.user_id, [c.doc_id for c in window])
        except redis.RedisError as error:
            logger.warning("search %s: Redis unavailable, serving retrieval order: %s", search_id, error)
            reason = "redis_unavailable"
    if snapshot is not None and snapshot.profile is None:
        reason = "unknown_user"
    timings["features"] = elapsed_ms(step)

    # 3. Score the window and reorder it; pages past the window keep retrieval order.
    step = time.perf_counter()
    ranked: list[RankedHit]
    if reason is None and snapshot is not None and model is not None:
        feature_vectors = build_feature_vectors(
            window,
            snapshot.profile,
            snapshot.popularity_scores,
            snapshot.now if snapshot.now is not None else time.time(),
            model.item_model,
            settings.popularity_half_life_days,
        )
        scores = model.predict(feature_vectors)
        contributions = explain(model, feature_vectors) if params.debug else None
        order = np.argsort(-scores, kind="stable")
        ranked = [
            RankedHit(
                candidate=window[i],
                score=float(scores[i]),
                reranked=True,
                debug=debug_info(feature_vectors[i], contributions[i] if contributions is not None else None)
                if params.debug
                else None,
            )
            for i in order
        ]
        ranked += [RankedHit(c, c.retrieval_score, reranked=False) for c in candidates[len(window):]]
    else:
        ranked = [RankedHit(c, c.retrieval_score, reranked=False) for c in candidates]
    timings["rerank"] = elapsed_ms(step)
    timings["total"] = elapsed_ms(started)

    return SearchResult(
        search_id=search_id,
        hits=ranked[start:end],
        total=total,
        personalized=reason is None,
        reason=reason,
        model_version=model.version if model is not None else None,
        timings_ms=timings,
    )


def retrieve(es: Elasticsearch, settings: Settings, query: str, size: int) -> tuple[list[Candidate], int]:
    """Fetch the top `size` candidates with per-clause scores in one request."""
    try:
        response = es.search(
            index=settings.index_alias,
            body=build_search_body(query, size),
            include_named_queries_score=True,
            filter_path=RESPONSE_FILTER,
        )
    except NotFoundError as error:
        raise RetrievalUnavailable(
            f"The index alias {settings.index_alias!r} was not found; build it with `python -m indexing build`."
        ) from error
    except (TransportError, ApiError) as error:
        raise RetrievalUnavailable(f"Elasticsearch at {settings.es_url} failed: {error}") from error

    # The response filter drops `hits.hits` entirely when nothing matched.
    hits = response.get("hits", {})

    return parse_hits(hits.get("hits", [])), int(hits.get("total", {}).get("value", 0))


def personalization_blocker(
    params: SearchParams, model: RankingModel | None, window: list[Candidate]
) -> str | None:
    """Return why this request cannot be personalized, or None when it can."""
    if params.user_id is None:
        return "no_user"
    if model is None:
        return "no_model"
    if not window:
        return "no_candidates"

    return None


def explain(model: RankingModel, feature_vectors: np.ndarray) -> np.ndarray:
    """Return each feature's contribution to each candidate's score (SHAP values from LightGBM)."""
    return np.asarray(model.booster.predict(feature_vectors, pred_contrib=True, num_threads=1))


def debug_info(feature_vector: np.ndarray, contribution: np.ndarray | None) -> dict[str, Any]:
    """Render feature values (null when missing) and their contributions for `debug=true`."""
    info: dict[str, Any] = {
        "features": {
            name: None if math.isnan(value) else float(value)
            for name, value in zip(SCHEMA.names, feature_vector, strict=True)
        }
    }
    if contribution is not None:
        info["contributions"] = {
            name: float(value) for name, value in zip(SCHEMA.names, contribution[:-1], strict=True)
        }
        info["contributions"]["bias"] = float(contribution[-1])

    return info


def elapsed_ms(since: float) -> float:
    """Return milliseconds since the perf_counter value `since`, rounded for the response."""
    return round((time.perf_counter() - since) * 1000.0, 3)
