"""Tests of the model registry on disk and of the API's model holder."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from rankers.item_model import ItemModel
from rankers.registry import ACTIVE_FILE, ModelError, ModelRegistry
from rankers.schema import SCHEMA
from search_api.model_state import ModelHolder

TITLES = {
    "85123A": "WHITE HANGING HEART T-LIGHT HOLDER",
    "21733": "RED HANGING HEART T-LIGHT HOLDER",
    "22423": "REGENCY CAKESTAND 3 TIER",
    "20725": "LUNCH BAG RED RETROSPOT",
}


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    """Train a small lambdarank booster on the real feature names: the first feature decides relevance."""
    rng = np.random.default_rng(0)
    groups, size = 30, 10
    features = rng.normal(size=(groups * size, len(SCHEMA.names)))
    labels = (features[:, 0] > 0.8).astype(int)
    dataset = lgb.Dataset(features, labels, group=[size] * groups, feature_name=list(SCHEMA.names))
    params = {"objective": "lambdarank", "num_leaves": 4, "min_data_in_leaf": 5, "verbosity": -1, "num_threads": 1}
    return lgb.train(params, dataset, num_boost_round=5)


@pytest.fixture(scope="module")
def item_model() -> ItemModel:
    return ItemModel.fit(TITLES, ["u1", "u1", "u2", "u2"], ["85123A", "21733", "21733", "22423"], n_factors=2)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def save(registry: ModelRegistry, version: str, booster: lgb.Booster, item_model: ItemModel) -> Path:
    return registry.save(version, booster, item_model, {"note": f"model {version}"})


def test_registry_empty() -> None:
    registry = ModelRegistry(Path("/nonexistent/tailor-models"))

    assert registry.versions() == []
    assert registry.active_version() is None


def test_save_writes_version(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    directory = save(registry, "v1", booster, item_model)

    assert directory == registry.root / "v1"
    assert sorted(p.name for p in directory.iterdir()) == [
        "item_model.json", "item_model.npz", "metadata.json", "model.txt",
    ]
    assert registry.versions() == ["v1"]
    assert registry.active_version() is None


def test_save_metadata_has_schema(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    directory = save(registry, "v1", booster, item_model)

    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["version"] == "v1"
    assert metadata["note"] == "model v1"
    assert metadata["schema"]["version"] == SCHEMA.version
    assert metadata["schema"]["names"] == list(SCHEMA.names)


def test_save_leaves_no_staging(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    save(registry, "v1", booster, item_model)

    assert [p.name for p in registry.root.iterdir()] == ["v1"]


def test_save_existing_version_raises(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    save(registry, "v1", booster, item_model)

    with pytest.raises(ModelError, match="'v1' already exists"):
        save(registry, "v1", booster, item_model)


@pytest.mark.parametrize("version", ["../escape", "", ".hidden", "a/b", "with space"])
def test_save_invalid_version_raises(
    registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel, version: str
) -> None:
    with pytest.raises(ModelError, match="is invalid"):
        save(registry, version, booster, item_model)

    assert registry.versions() == []


def test_versions_sorted(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    for version in ("20240102-000000-001", "20240101-000000-001", "20240103-000000-001"):
        save(registry, version, booster, item_model)

    assert registry.versions() == ["20240101-000000-001", "20240102-000000-001", "20240103-000000-001"]


def test_new_version_is_valid(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    version = registry.new_version()

    save(registry, version, booster, item_model)

    assert registry.versions() == [version]


def test_activate_sets_active(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    save(registry, "v1", booster, item_model)
    save(registry, "v2", booster, item_model)

    registry.activate("v1")
    assert registry.active_version() == "v1"

    registry.activate("v2")
    assert registry.active_version() == "v2"
    assert (registry.root / ACTIVE_FILE).read_text() == "v2\n"


def test_activate_missing_version_raises(
    registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel
) -> None:
    save(registry, "v1", booster, item_model)
    registry.activate("v1")

    with pytest.raises(ModelError) as raised:
        registry.activate("v9")

    message = str(raised.value)
    assert "'v9' was not found" in message
    assert "available: v1" in message
    assert registry.active_version() == "v1"


def test_activate_in_empty_registry_raises(registry: ModelRegistry) -> None:
    with pytest.raises(ModelError, match="available: none"):
        registry.activate("v1")


def test_load_returns_saved_model(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    save(registry, "v1", booster, item_model)
    features = np.random.default_rng(1).normal(size=(6, len(SCHEMA.names)))

    model = registry.load("v1")

    assert model.version == "v1"
    assert model.item_model.doc_ids == item_model.doc_ids
    np.testing.assert_allclose(model.predict(features), booster.predict(features), rtol=0, atol=1e-12)
    assert model.predict(np.zeros((0, len(SCHEMA.names)))).shape == (0,)


def test_load_other_schema_raises(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    directory = save(registry, "v1", booster, item_model)
    metadata_path = directory / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    metadata["schema"]["version"] = "retail-v0"
    metadata["schema"]["names"] = metadata["schema"]["names"][:-1]
    metadata_path.write_text(json.dumps(metadata))

    with pytest.raises(ModelError) as raised:
        registry.load("v1")

    message = str(raised.value)
    assert "'retail-v0'" in message
    assert f"'{SCHEMA.version}'" in message
    assert "retrain" in message


def test_load_without_metadata_raises(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    directory = save(registry, "v1", booster, item_model)
    (directory / "metadata.json").unlink()

    with pytest.raises(ModelError, match="no metadata.json"):
        registry.load("v1")


def test_holder_without_active_model(registry: ModelRegistry) -> None:
    holder = ModelHolder(registry, check_interval_s=0)

    assert holder.current() is None


def test_holder_swaps_to_new_version(registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel) -> None:
    save(registry, "v1", booster, item_model)
    save(registry, "v2", booster, item_model)
    registry.activate("v1")
    holder = ModelHolder(registry, check_interval_s=0)

    first = holder.current()
    registry.activate("v2")
    second = holder.current()

    assert first is not None
    assert first.version == "v1"
    assert second is not None
    assert second.version == "v2"


def test_holder_same_version_not_reloaded(
    registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel
) -> None:
    save(registry, "v1", booster, item_model)
    registry.activate("v1")
    holder = ModelHolder(registry, check_interval_s=0)

    assert holder.current() is holder.current()


def test_holder_keeps_old_model_on_bad_schema(
    registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel
) -> None:
    save(registry, "v1", booster, item_model)
    broken = save(registry, "v2", booster, item_model)
    metadata = json.loads((broken / "metadata.json").read_text())
    metadata["schema"]["names"] = ["only_one_feature"]
    (broken / "metadata.json").write_text(json.dumps(metadata))
    registry.activate("v1")
    holder = ModelHolder(registry, check_interval_s=0)
    old = holder.current()

    registry.activate("v2")
    current = holder.current()

    assert old is not None
    assert current is old
    assert current.version == "v1"


def test_holder_keeps_old_model_on_corrupt_file(
    registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel
) -> None:
    save(registry, "v1", booster, item_model)
    broken = save(registry, "v2", booster, item_model)
    (broken / "model.txt").write_text("not a LightGBM model\n")
    registry.activate("v1")
    holder = ModelHolder(registry, check_interval_s=0)
    old = holder.current()

    registry.activate("v2")
    current = holder.current()

    assert current is old
    assert current is not None
    assert current.version == "v1"


def test_holder_keeps_old_model_on_missing_item_model(
    registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel
) -> None:
    save(registry, "v1", booster, item_model)
    broken = save(registry, "v2", booster, item_model)
    (broken / "item_model.npz").unlink()
    registry.activate("v1")
    holder = ModelHolder(registry, check_interval_s=0)
    old = holder.current()

    registry.activate("v2")
    current = holder.current()

    assert current is old
    assert current is not None
    assert current.version == "v1"


def test_holder_checks_only_after_interval(
    registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel
) -> None:
    save(registry, "v1", booster, item_model)
    save(registry, "v2", booster, item_model)
    registry.activate("v1")
    holder = ModelHolder(registry, check_interval_s=3600)
    first = holder.current()

    registry.activate("v2")
    second = holder.current()

    assert first is not None
    assert second is first
    assert second.version == "v1"


def test_load_corrupt_model_file_raises(
    registry: ModelRegistry, booster: lgb.Booster, item_model: ItemModel
) -> None:
    directory = save(registry, "v1", booster, item_model)
    (directory / "model.txt").write_text("not a LightGBM model\n")

    with pytest.raises(ModelError, match="Loading model version 'v1' from .*model.txt failed"):
        registry.load("v1")
