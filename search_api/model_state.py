"""The model an API process serves, reloaded when the registry's active version changes."""

from __future__ import annotations

import logging
import threading
import time

from rankers.registry import ModelError, ModelRegistry, RankingModel

logger = logging.getLogger(__name__)


class ModelHolder:
    """Holds the active ranking model and swaps in a newly activated one without a restart.

    A request takes a reference with `current()` and keeps using it, so a swap never frees a
    model that a request is still scoring with.
    """

    def __init__(self, registry: ModelRegistry, check_interval_s: float) -> None:
        self.registry = registry
        self.check_interval_s = check_interval_s
        self._model: RankingModel | None = None
        self._version: str | None = None
        self._checked_at = -float("inf")
        self._lock = threading.Lock()

    def current(self) -> RankingModel | None:
        """Return the model to score with, or None when no model is active or it fails to load."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_interval_s:
            self._refresh(now)

        return self._model

    def _refresh(self, now: float) -> None:
        with self._lock:
            if now - self._checked_at < self.check_interval_s:
                return
            self._checked_at = now

            version = self.registry.active_version()
            if version == self._version:
                return
            if version is None:
                logger.warning("model: no active version in %s; serving retrieval order", self.registry.root)
                self._model, self._version = None, None
                return

            try:
                model = self.registry.load(version)
            except (ModelError, OSError, ValueError) as error:
                # Keep serving the previous model rather than none at all.
                logger.error("model %s: failed to load, keeping %s: %s", version, self._version, error)
                return

            self._model, self._version = model, version
            logger.info("model %s: loaded", version)
