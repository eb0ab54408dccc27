"""The WSGI entry point: configures logging and creates the API app (e.g. `gunicorn wsgi:app`)."""

from __future__ import annotations

import logging

from search_api.app import create_app
from settings import get_settings

logging.basicConfig(
    level=get_settings().log_level.upper(),
    format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s",
    force=True,
)

app = create_app()
