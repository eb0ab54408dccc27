"""Liveness and readiness endpoints: GET /v1/health and GET /v1/ready."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis as redis_lib
from elasticsearch import ApiError as EsApiError
from elasticsearch import TransportError
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from search_api.clients import get_es, get_redis, get_settings_of_app

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

# app.extensions key of a callable returning whether a ranking model is loaded.
MODEL_LOADED_EXTENSION = "tailor.model_loaded"
# app.extensions key of the checks that failed on the previous readiness probe.
_LAST_FAILED_EXTENSION = "tailor.readiness_failed"


@bp.get("/v1/health")
def health() -> ResponseReturnValue:
    """Report that the process is up, without touching any dependency."""
    return jsonify({"status": "ok"})


@bp.get("/v1/ready")
def ready() -> ResponseReturnValue:
    """Check Elasticsearch, Redis and the model; 200 when all pass, 503 with each check's result otherwise."""
    checks = {
        "elasticsearch": _check_elasticsearch(),
        "redis": _check_redis(),
        "model": _check_model(),
    }

    is_ready = all(check["status"] == "ok" for check in checks.values())
    _log_change(is_ready, checks)

    return jsonify({"status": "ready" if is_ready else "not_ready", "checks": checks}), 200 if is_ready else 503


def _log_change(is_ready: bool, checks: dict[str, dict[str, Any]]) -> None:
    # Probes repeat every few seconds, so only a change of the outcome is logged.
    failed = sorted(name for name, check in checks.items() if check["status"] != "ok")
    if current_app.extensions.get(_LAST_FAILED_EXTENSION) == failed:
        return
    current_app.extensions[_LAST_FAILED_EXTENSION] = failed

    if is_ready:
        logger.info("Readiness check passed")
    else:
        logger.warning("Readiness check failed for %s: %s", ", ".join(failed), checks)


def _check_elasticsearch() -> dict[str, Any]:
    settings = get_settings_of_app()

    try:
        cluster_status = get_es().cluster.health()["status"]
        alias_exists = bool(get_es().indices.exists_alias(name=settings.index_alias))
    except (EsApiError, TransportError) as exc:
        return _failed(f"Elasticsearch did not answer: {exc}")

    if cluster_status == "red":
        return _failed("The Elasticsearch cluster health is red.")
    if not alias_exists:
        return _failed(f"The index alias {settings.index_alias!r} does not exist; index the catalog first.")

    return {"status": "ok", "cluster_status": cluster_status}


def _check_redis() -> dict[str, Any]:
    try:
        get_redis().ping()
    except redis_lib.RedisError as exc:
        return _failed(f"Redis did not answer PING: {exc}")

    return {"status": "ok"}


def _check_model() -> dict[str, Any]:
    is_model_loaded: Callable[[], bool] = current_app.extensions[MODEL_LOADED_EXTENSION]

    try:
        loaded = bool(is_model_loaded())
    except Exception as exc:  # The check must report any failure instead of turning it into a 500.
        logger.exception("Readiness check of the model failed")
        return _failed(f"Checking the model failed: {exc}")

    if not loaded:
        return _failed("No ranking model is loaded; train and activate one.")

    return {"status": "ok"}


def _failed(detail: str) -> dict[str, Any]:
    return {"status": "failed", "detail": detail}
