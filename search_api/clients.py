"""Elasticsearch and Redis clients of the current Flask app, built lazily from its settings."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import redis as redis_lib
from elasticsearch import Elasticsearch
from flask import Flask, current_app

from settings import Settings

logger = logging.getLogger(__name__)

SETTINGS_CONFIG_KEY = "TAILOR_SETTINGS"
_CLIENTS_EXTENSION = "tailor.clients"
_LOCK_EXTENSION = "tailor.clients_lock"

ClientT = TypeVar("ClientT")


def init_clients(app: Flask, settings: Settings) -> None:
    """Attach the settings to the app; clients are created on first use by a request."""
    app.config[SETTINGS_CONFIG_KEY] = settings
    app.extensions[_CLIENTS_EXTENSION] = {}
    app.extensions[_LOCK_EXTENSION] = threading.Lock()


def get_settings_of_app() -> Settings:
    """Return the settings the current app was created with."""
    settings: Settings = current_app.config[SETTINGS_CONFIG_KEY]

    return settings


def get_es() -> Elasticsearch:
    """Return the current app's Elasticsearch client, creating it on first use."""
    return _get_or_create("elasticsearch", _build_es)


def get_redis() -> redis_lib.Redis:
    """Return the current app's Redis client, creating it on first use.

    Responses stay bytes because RQ, which shares this client, does not support decoded responses.
    """
    return _get_or_create("redis", _build_redis)


def _get_or_create(name: str, build: Callable[[Settings], ClientT]) -> ClientT:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    clients: dict[str, ClientT] = app.extensions[_CLIENTS_EXTENSION]
    client = clients.get(name)
    if client is not None:
        return client

    # The lock keeps concurrent first requests of a threaded server from building two connection pools.
    with app.extensions[_LOCK_EXTENSION]:
        client = clients.get(name)
        if client is None:
            client = build(app.config[SETTINGS_CONFIG_KEY])
            clients[name] = client
            logger.info("Client %s created for app %s", name, app.name)

    return client


def _build_es(settings: Settings) -> Elasticsearch:
    return Elasticsearch(settings.es_url, request_timeout=settings.es_timeout_s)


def _build_redis(settings: Settings) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_timeout_s,
        socket_timeout=settings.redis_timeout_s,
    )
