"""The model registry: versioned ranking models on disk, which one is active, and loading it."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from rankers.item_model import ItemModel
from rankers.schema import SCHEMA

logger = logging.getLogger(__name__)

ACTIVE_FILE = "ACTIVE"
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ModelError(Exception):
    """A model version is missing, invalid or does not match the feature schema."""


@dataclass(frozen=True)
class RankingModel:
    """A loaded model version: the LightGBM booster, its item model and metadata."""

    version: str
    booster: lgb.Booster
    item_model: ItemModel
    metadata: dict[str, Any]

    def predict(self, feature_vectors: np.ndarray) -> np.ndarray:
        """Score feature vectors (rows in schema order); higher is better."""
        if feature_vectors.shape[0] == 0:
            return np.zeros(0)

        return np.asarray(self.booster.predict(feature_vectors, num_threads=1), dtype=np.float64)


class ModelRegistry:
    """Model versions stored as folders under `root`, with the active one named in ACTIVE."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def new_version(self) -> str:
        """Return a fresh version name from the current UTC time."""
        return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{os.getpid() % 1000:03d}"

    def save(
        self,
        version: str,
        booster: lgb.Booster,
        item_model: ItemModel,
        metadata: dict[str, Any],
    ) -> Path:
        """Write a model version; it is not served until `activate` is called."""
        if not VERSION_PATTERN.match(version):
            raise ModelError(
                f"Model version {version!r} is invalid: use letters, digits, '.', '_' and '-'."
            )
        directory = self.root / version
        if directory.exists():
            raise ModelError(f"Model version {version!r} already exists in {self.root}.")

        staging = self.root / f".{version}.tmp"
        staging.mkdir(parents=True)
        booster.save_model(str(staging / "model.txt"))
        item_model.save(staging)
        full_metadata = {"version": version, "schema": SCHEMA.to_dict(), **metadata}
        (staging / "metadata.json").write_text(json.dumps(full_metadata, indent=2, sort_keys=True))
        staging.rename(directory)
        logger.info("model %s: saved to %s", version, directory)

        return directory

    def activate(self, version: str) -> None:
        """Make `version` the model every API process serves, by replacing ACTIVE atomically."""
        if not (self.root / version / "model.txt").exists():
            raise ModelError(
                f"Model version {version!r} was not found in {self.root}; "
                f"available: {', '.join(self.versions()) or 'none'}."
            )

        staging = self.root / f".{ACTIVE_FILE}.tmp"
        staging.write_text(version + "\n")
        staging.replace(self.root / ACTIVE_FILE)
        logger.info("model %s: activated", version)

    def active_version(self) -> str | None:
        """Return the active version, or None when no model was activated."""
        try:
            return (self.root / ACTIVE_FILE).read_text().strip() or None
        except FileNotFoundError:
            return None

    def versions(self) -> list[str]:
        """Return the saved versions, oldest first."""
        if not self.root.exists():
            return []

        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def load(self, version: str) -> RankingModel:
        """Load a saved version and check that it was trained on the current feature schema."""
        directory = self.root / version
        try:
            metadata = json.loads((directory / "metadata.json").read_text())
        except FileNotFoundError as error:
            raise ModelError(
                f"Model version {version!r} has no metadata.json in {directory}; retrain it."
            ) from error

        names = metadata.get("schema", {}).get("names")
        if names != list(SCHEMA.names):
            raise ModelError(
                f"Model version {version!r} was trained on feature schema "
                f"{metadata.get('schema', {}).get('version')!r}, but this code computes "
                f"{SCHEMA.version!r}; retrain the model with `python -m rankers train`."
            )

        try:
            booster = lgb.Booster(model_file=str(directory / "model.txt"))
        except lgb.basic.LightGBMError as error:
            # LightGBMError derives from Exception only, so callers catching ModelError would miss it.
            raise ModelError(
                f"Loading model version {version!r} from {directory / 'model.txt'} failed: {error}. "
                "Retrain it with `python -m rankers train`."
            ) from error
        item_model = ItemModel.load(directory)

        return RankingModel(version=version, booster=booster, item_model=item_model, metadata=metadata)
