"""The search endpoint: GET /v1/search."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from flask import request as flask_request
from flask.typing import ResponseReturnValue

from search_api.clients import get_es, get_redis, get_settings_of_app
from search_api.errors import error_response
from search_api.model_state import ModelHolder
from search_api.params import ParameterError, parse_search_params
from search_api.pipeline import RetrievalUnavailable, run_search

logger = logging.getLogger(__name__)

bp = Blueprint("search", __name__)

MODEL_HOLDER_KEY = "tailor.models"


def get_model_holder() -> ModelHolder:
    """Return the app's model holder, created by the application factory."""
    holder: ModelHolder = current_app.extensions[MODEL_HOLDER_KEY]

    return holder


@bp.get("/v1/search")
def search() -> ResponseReturnValue:
    """Search the catalog and rerank the top candidates for the user."""
    settings = get_settings_of_app()

    try:
        params = parse_search_params(flask_request.args, settings)
    except ParameterError as error:
        return error_response(400, "invalid_parameter", error.message, field=error.field)

    model = get_model_holder().current()
    try:
        result = run_search(params, get_es(), get_redis(), model, settings)
    except RetrievalUnavailable as error:
        logger.error("search: retrieval unavailable for query %r: %s", params.query, error)
        return error_response(503, "retrieval_unavailable", str(error))

    logger.info(
        "search %s: query=%r user=%s personalized=%s reason=%s total_ms=%.1f",
        result.search_id, params.query, params.user_id, result.personalized, result.reason,
        result.timings_ms["total"],
    )

    return jsonify(
        {
            "search_id": result.search_id,
            "query": params.query,
            "page": params.page,
            "size": params.size,
            "total": result.total,
            "hits": [hit.to_dict() for hit in result.hits],
            "personalized": result.personalized,
            "reason": result.reason,
            "model_version": result.model_version,
            "timings_ms": result.timings_ms,
        }
    )
