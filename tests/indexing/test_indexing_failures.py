"""Tests of per-doc failure reports in builds and partial updates against the local node."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch

from indexing.build import build
from indexing.documents import product_to_doc
from indexing.errors import BuildAbortedError
from indexing.updates import update_fields
from indexing.versions import list_versions, live_indices
from sample_data.online_retail import Product

VALID = [
    Product("A1", "BLUE MUG", 1.5, 1291191960.25, 10),
    Product("A2", "RED MUG", 1.75, 1291191960.0, 20),
    Product("A3", "GREEN MUG", 2.0, 1291191960.0, 30),
]


def mixed_docs() -> list[dict[str, Any]]:
    """Return the 3 valid docs with 5 invalid ones in between."""
    valid = [product_to_doc(product) for product in VALID]
    price_text = {**product_to_doc(Product("B1", "MUG", 1.0, 0.0, 1)), "price": "not-a-number"}
    title_object = {**product_to_doc(Product("B2", "MUG", 1.0, 0.0, 1)), "title": {"en": "MUG"}}
    unknown_field = {**product_to_doc(Product("B3", "MUG", 1.0, 0.0, 1)), "colour": "blue"}
    duplicate = product_to_doc(Product("A1", "DUPLICATE MUG", 9.0, 0.0, 1))
    no_doc_id = {key: value for key, value in valid[1].items() if key != "doc_id"}
    return [
        valid[0],
        price_text,
        title_object,
        valid[1],
        unknown_field,
        duplicate,
        no_doc_id,
        valid[2],
    ]


def reasons_by_doc_id(failures) -> dict[str, str]:
    return {failure.doc_id: failure.reason for failure in failures}


def test_build_reports_each_failed_doc(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()

    result = build(es, mixed_docs(), alias=alias, max_failures=5, chunk_size=3)

    reasons = reasons_by_doc_id(result.failures)
    statuses = {failure.doc_id: failure.status for failure in result.failures}
    assert len(result.failures) == 5
    assert set(reasons) == {"B1", "B2", "B3", "A1", "<missing>"}
    assert "failed to parse field [price]" in reasons["B1"]
    assert statuses["B1"] == 400
    assert "failed to parse field [title]" in reasons["B2"]
    assert statuses["B2"] == 400
    assert "strict_dynamic_mapping_exception" in reasons["B3"]
    assert "colour" in reasons["B3"]
    assert "repeats the doc_id of an earlier doc" in reasons["A1"]
    assert statuses["A1"] is None
    assert "has no doc_id" in reasons["<missing>"]
    assert result.doc_count == 3
    assert live_indices(es, alias) == (result.index,)
    assert es.get(index=alias, id="A1")["_source"]["title"] == "BLUE MUG"


def test_build_aborts_above_max_failures(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    previous = build(es, [product_to_doc(product) for product in VALID], alias=alias)

    with pytest.raises(BuildAbortedError) as caught:
        build(es, mixed_docs(), alias=alias, max_failures=4)

    error = caught.value
    assert "5 document(s) failed, more than the allowed maximum of 4" in str(error)
    assert previous.index in str(error)
    assert set(reasons_by_doc_id(error.failures)) == {"B1", "B2", "B3", "A1", "<missing>"}
    assert live_indices(es, alias) == (previous.index,)
    assert [version.index for version in list_versions(es, alias)] == [previous.index]
    assert not es.indices.exists(index=error.index)


def test_build_aborts_on_any_failure_by_default(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    bad = {**product_to_doc(VALID[0]), "price": "abc"}

    with pytest.raises(BuildAbortedError, match="1 document\\(s\\) failed") as caught:
        build(es, [bad, product_to_doc(VALID[1])], alias=alias)

    assert [failure.doc_id for failure in caught.value.failures] == ["A1"]
    assert live_indices(es, alias) == ()
    assert list_versions(es, alias) == []


def test_update_fields_sets_popularity(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    build(es, [product_to_doc(product) for product in VALID], alias=alias)

    result = update_fields(
        es,
        alias,
        {"A1": {"popularity": 0.75}, "A2": {"popularity": 0.5, "price": 1.8}},
        refresh=True,
    )

    assert result.updated == 2
    assert result.failures == ()
    assert es.get(index=alias, id="A1")["_source"]["popularity"] == 0.75
    assert es.get(index=alias, id="A1")["_source"]["first_sold"] == "1291191960.250"
    assert es.get(index=alias, id="A2")["_source"]["price"] == 1.8
    assert es.get(index=alias, id="A2")["_source"]["title"] == "RED MUG"
    assert "popularity" not in es.get(index=alias, id="A3")["_source"]
    ranked = es.search(index=alias, sort=[{"popularity": {"order": "desc"}}])
    assert [hit["_id"] for hit in ranked["hits"]["hits"]][:2] == ["A1", "A2"]


def test_update_fields_reports_missing_doc(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    build(es, [product_to_doc(product) for product in VALID], alias=alias)

    result = update_fields(
        es,
        alias,
        {"A1": {"popularity": 1.0}, "NOPE": {"popularity": 2.0}, "A2": {"colour": "red"}},
        refresh=True,
    )

    reasons = reasons_by_doc_id(result.failures)
    statuses = {failure.doc_id: failure.status for failure in result.failures}
    assert result.updated == 1
    assert set(reasons) == {"NOPE", "A2"}
    assert "document_missing_exception" in reasons["NOPE"]
    assert statuses["NOPE"] == 404
    assert "strict_dynamic_mapping_exception" in reasons["A2"]
    assert es.count(index=alias)["count"] == 3


def test_update_fields_rejects_doc_id_change(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()

    with pytest.raises(ValueError, match="sets doc_id"):
        update_fields(es, alias, {"A1": {"doc_id": "A9"}})
