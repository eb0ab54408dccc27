"""Tests of the parts of the indexing package that need no cluster."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from indexing.bulk import failure_from_item
from indexing.documents import (
    MAX_SUGGEST_INPUTS,
    epoch_second_value,
    product_to_doc,
    suggest_entry,
)
from indexing.errors import AnalyzerNotAvailableError
from indexing.mappings import index_body
from indexing.versions import is_version_of, new_index_name
from sample_data.online_retail import Product


def test_new_index_name_format() -> None:
    name = new_index_name("products", datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC))

    assert name.startswith("products-20240305070809-")
    assert len(name) == len("products-20240305070809-") + 6
    assert name == name.lower()
    assert is_version_of("products", name)


def test_new_index_name_converts_to_utc() -> None:
    moment = datetime.fromisoformat("2024-03-05T09:08:09+02:00")

    assert new_index_name("products", moment).startswith("products-20240305070809-")


def test_new_index_name_unique_within_second() -> None:
    moment = datetime(2024, 3, 5, tzinfo=UTC)

    names = {new_index_name("products", moment) for _ in range(50)}

    assert len(names) == 50


@pytest.mark.parametrize(
    "index",
    [
        "products",
        "products-20240305070809",
        "products-eu-20240305070809-abc123",
        "products-2024030507080-abc123",
        "products-20240305070809-ABC123",
        "other-20240305070809-abc123",
    ],
)
def test_is_version_of_rejects_other_names(index: str) -> None:
    assert not is_version_of("products", index)


def test_index_body_mappings() -> None:
    body = index_body("whitespace", shards=2, replicas=1)

    mappings = body["mappings"]
    properties = mappings["properties"]
    assert mappings["dynamic"] == "strict"
    assert properties["doc_id"] == {"type": "keyword"}
    assert properties["title"]["type"] == "text"
    assert properties["title"]["analyzer"] == "whitespace"
    assert properties["title"]["fields"]["keyword"]["normalizer"] == "lowercase"
    assert properties["title_suggest"]["type"] == "completion"
    assert properties["price"] == {"type": "float"}
    assert properties["first_sold"] == {"type": "date", "format": "epoch_second"}
    assert properties["times_sold"] == {"type": "integer"}
    assert properties["popularity"] == {"type": "float"}
    assert body["settings"]["index"]["number_of_shards"] == 2
    assert body["settings"]["index"]["number_of_replicas"] == 1


def test_product_to_doc_fields() -> None:
    product = Product("85123A", "WHITE HANGING HEART", 2.55, 1291191960.0, 2200)

    doc = product_to_doc(product)

    assert doc["doc_id"] == "85123A"
    assert doc["title"] == "WHITE HANGING HEART"
    assert doc["price"] == 2.55
    assert doc["first_sold"] == 1291191960
    assert isinstance(doc["first_sold"], int)
    assert doc["times_sold"] == 2200
    assert "popularity" not in doc
    assert doc["title_suggest"]["input"] == ["WHITE HANGING HEART", "HANGING HEART", "HEART"]
    assert doc["title_suggest"]["weight"] == 2200


def test_epoch_second_value_forms() -> None:
    assert epoch_second_value(1291191960.0) == 1291191960
    assert epoch_second_value(1291191960.5) == "1291191960.500"
    assert epoch_second_value(1291191960.1234) == "1291191960.123"


def test_product_to_doc_with_popularity() -> None:
    product = Product("1", "MUG", 1.0, 0.0, 1)

    assert product_to_doc(product, popularity=0.25)["popularity"] == 0.25


def test_suggest_entry_limits_inputs_and_weight() -> None:
    title = " ".join(f"W{i}" for i in range(20))

    entry = suggest_entry(title, -5)

    assert len(entry["input"]) == MAX_SUGGEST_INPUTS
    assert entry["input"][0] == title
    assert entry["weight"] == 0
    assert suggest_entry("A", 2**40)["weight"] == 2**31 - 1


def test_suggest_entry_drops_reserved_characters() -> None:
    entry = suggest_entry("RED\x1fMUG  BLUE", 1)

    assert entry["input"] == ["REDMUG BLUE", "BLUE"]


def test_failure_from_item_structured_error() -> None:
    item = {
        "index": {
            "_index": "products-x",
            "_id": "A1",
            "status": 400,
            "error": {
                "type": "document_parsing_exception",
                "reason": "failed to parse field [price] of type [float]",
                "caused_by": {"type": "number_format_exception", "reason": 'For input string: "x"'},
            },
        }
    }

    failure = failure_from_item(item)

    assert failure.doc_id == "A1"
    assert failure.status == 400
    assert failure.reason == (
        "document_parsing_exception: failed to parse field [price] of type [float] "
        '(caused by number_format_exception: For input string: "x")'
    )
    assert str(failure).startswith("A1 (HTTP 400): document_parsing_exception")


def test_failure_from_item_request_error() -> None:
    item = {"index": {"_id": "B2", "status": 503, "error": "ApiError(503, 'unavailable')"}}

    failure = failure_from_item(item)

    assert failure.doc_id == "B2"
    assert failure.status == 503
    assert failure.reason == "ApiError(503, 'unavailable')"


def test_analyzer_error_message() -> None:
    message = str(AnalyzerNotAvailableError("english", "products-1"))

    assert "analyzer 'english' is not available" in message
    assert "TAILOR_TITLE_ANALYZER" in message
    assert "analysis-common" in message
