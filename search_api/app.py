"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask

from rankers.registry import ModelRegistry
from search_api import events, health, search
from search_api.clients import init_clients
from search_api.errors import register_error_handlers
from search_api.health import MODEL_LOADED_EXTENSION
from search_api.model_state import ModelHolder
from settings import Settings, get_settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the API app with its blueprints, JSON error handlers and lazily created clients."""
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes

    init_clients(app, settings)
    register_error_handlers(app)
    models = ModelHolder(ModelRegistry(settings.model_dir), settings.model_check_interval_s)
    app.extensions[search.MODEL_HOLDER_KEY] = models
    app.extensions[MODEL_LOADED_EXTENSION] = lambda: models.current() is not None

    blueprints: list[Blueprint] = [
        health.bp,
        events.bp,
        search.bp,
    ]
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    logger.info("App %s created for stream %s and queue %s", app.name, settings.stream_key, settings.queue_name)

    return app
