"""Tests of index builds, alias swaps, rollback and pruning against the local node."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from indexing.aliases import rollback, swap_alias
from indexing.build import build
from indexing.documents import product_to_doc
from indexing.errors import (
    AliasChangedError,
    AliasIsIndexError,
    AliasStateError,
    AnalyzerNotAvailableError,
    NoPreviousVersionError,
)
from indexing.versions import is_version_of, list_versions, live_indices
from sample_data.online_retail import Product

PRODUCTS = [
    Product("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55, 1291191960.0, 2200),
    Product("71053", "WHITE METAL LANTERN", 3.39, 1291191960.5, 300),
    Product("84406B", "CREAM CUPID HEARTS COAT HANGER", 2.75, 1291192020.0, 250),
]


def catalog_docs(title_prefix: str = "") -> list[dict[str, Any]]:
    return [
        product_to_doc(
            Product(p.doc_id, f"{title_prefix}{p.title}", p.price, p.first_sold, p.times_sold)
        )
        for p in PRODUCTS
    ]


def versioned_indices(es: Elasticsearch, alias: str) -> list[str]:
    # indices.exists is true for a wildcard that matches nothing, so list the matches instead.
    return sorted(es.indices.get(index=f"{alias}-*").body)


def search_title(es: Elasticsearch, alias: str, doc_id: str) -> str:
    response = es.search(index=alias, query={"term": {"doc_id": doc_id}})
    return response["hits"]["hits"][0]["_source"]["title"]


def test_build_creates_versioned_index(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    progress: list[int] = []

    result = build(es, catalog_docs(), alias=alias, progress=progress.append)

    assert is_version_of(alias, result.index)
    assert result.alias == alias
    assert result.doc_count == 3
    assert result.failures == ()
    assert result.previous_indices == ()
    assert result.deleted_indices == ()
    assert sum(progress) == 3
    assert live_indices(es, alias) == (result.index,)
    assert es.count(index=alias)["count"] == 3
    assert search_title(es, alias, "71053") == "WHITE METAL LANTERN"


def test_build_applies_mappings(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()

    result = build(es, catalog_docs(), alias=alias)

    mapping = es.indices.get_mapping(index=result.index)[result.index]["mappings"]
    settings = es.indices.get_settings(index=result.index)[result.index]["settings"]["index"]
    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["title"]["analyzer"] == "standard"
    assert mapping["properties"]["title_suggest"]["type"] == "completion"
    assert settings["number_of_shards"] == "1"
    assert settings["number_of_replicas"] == "0"
    # The bulk load switches refreshing off, and the build must switch it on again.
    assert settings["refresh_interval"] == "1s"


def test_build_indexes_searchable_fields(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    build(es, catalog_docs(), alias=alias)

    by_keyword = es.search(index=alias, query={"term": {"title.keyword": "white metal lantern"}})
    by_date = es.search(
        index=alias,
        query={"range": {"first_sold": {"gte": "1291192000", "format": "epoch_second"}}},
    )
    suggest = es.search(
        index=alias,
        suggest={"title": {"prefix": "heart", "completion": {"field": "title_suggest"}}},
    )

    assert [hit["_id"] for hit in by_keyword["hits"]["hits"]] == ["71053"]
    assert [hit["_id"] for hit in by_date["hits"]["hits"]] == ["84406B"]
    options = suggest["suggest"]["title"][0]["options"]
    assert [option["_id"] for option in options] == ["85123A", "84406B"]


def test_second_build_swaps_alias_keeps_previous(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    first = build(es, catalog_docs("OLD "), alias=alias)
    observed: list[tuple[str, ...]] = []
    done = threading.Event()

    def watch_alias() -> None:
        # Bounded: stops when the build is done or after 5,000 reads.
        for _ in range(5000):
            if done.is_set():
                return
            observed.append(live_indices(es, alias))

    watcher = threading.Thread(target=watch_alias)
    watcher.start()
    try:
        second = build(es, catalog_docs("NEW "), alias=alias)
    finally:
        done.set()
        watcher.join(timeout=30)

    assert second.index != first.index
    assert second.previous_indices == (first.index,)
    assert live_indices(es, alias) == (second.index,)
    assert es.indices.exists(index=first.index)
    assert search_title(es, alias, "71053") == "NEW WHITE METAL LANTERN"
    assert observed
    assert set(observed) <= {(first.index,), (second.index,)}


def test_list_versions_marks_live_index(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    first = build(es, catalog_docs(), alias=alias)
    second = build(es, catalog_docs()[:2], alias=alias)

    versions = list_versions(es, alias)

    assert [version.index for version in versions] == [second.index, first.index]
    assert [version.live for version in versions] == [True, False]
    assert [version.doc_count for version in versions] == [2, 3]
    assert versions[0].created_at >= versions[1].created_at


def test_list_versions_empty_alias(es: Elasticsearch, unique_name) -> None:
    assert list_versions(es, unique_name()) == []


def test_rollback_points_alias_to_previous(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    first = build(es, catalog_docs("OLD "), alias=alias)
    second = build(es, catalog_docs("NEW "), alias=alias)

    result = rollback(es, alias)

    assert result.from_index == second.index
    assert result.to_index == first.index
    assert live_indices(es, alias) == (first.index,)
    assert search_title(es, alias, "71053") == "OLD WHITE METAL LANTERN"
    assert es.indices.exists(index=second.index)


def test_rollback_without_previous_fails(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    only = build(es, catalog_docs(), alias=alias)

    with pytest.raises(NoPreviousVersionError, match=only.index):
        rollback(es, alias)

    assert live_indices(es, alias) == (only.index,)


def test_rollback_missing_alias_fails(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()

    with pytest.raises(AliasStateError, match="points to no index"):
        rollback(es, alias)


def test_build_after_rollback_keeps_both(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    first = build(es, catalog_docs(), alias=alias)
    second = build(es, catalog_docs(), alias=alias)
    rollback(es, alias)

    third = build(es, catalog_docs(), alias=alias)

    assert third.previous_indices == (first.index,)
    assert third.deleted_indices == ()
    assert [version.index for version in list_versions(es, alias)] == [
        third.index,
        second.index,
        first.index,
    ]


def test_build_prunes_versions_beyond_keep(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    builds = [build(es, catalog_docs(), alias=alias, keep=2) for _ in range(4)]

    versions = list_versions(es, alias)

    assert builds[3].deleted_indices == (builds[0].index,)
    assert not es.indices.exists(index=builds[0].index)
    assert [version.index for version in versions] == [b.index for b in reversed(builds[1:])]
    assert live_indices(es, alias) == (builds[3].index,)


def test_build_keep_one(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    builds = [build(es, catalog_docs(), alias=alias, keep=1) for _ in range(3)]

    assert builds[1].deleted_indices == ()
    assert builds[2].deleted_indices == (builds[0].index,)
    assert [version.index for version in list_versions(es, alias)] == [
        builds[2].index,
        builds[1].index,
    ]


def test_prune_leaves_other_indices(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    # Starts with the alias name but is no version of it, like the versions of "<alias>-eu".
    bystander = f"{alias}-eu-20200101000000-abcdef"
    es.indices.create(index=bystander)

    for _ in range(4):
        build(es, catalog_docs(), alias=alias, keep=1)

    assert es.indices.exists(index=bystander)
    assert len(list_versions(es, alias)) == 2


def test_missing_analyzer_names_analyzer(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()

    with pytest.raises(AnalyzerNotAvailableError) as caught:
        build(es, catalog_docs(), alias=alias, title_analyzer="english")

    message = str(caught.value)
    assert "analyzer 'english' is not available" in message
    assert "TAILOR_TITLE_ANALYZER" in message
    assert caught.value.analyzer == "english"
    assert list_versions(es, alias) == []
    assert versioned_indices(es, alias) == []


def test_alias_name_taken_by_index(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    es.indices.create(index=alias)

    with pytest.raises(AliasIsIndexError, match=f"'{alias}' is a concrete index"):
        build(es, catalog_docs(), alias=alias)
    with pytest.raises(AliasIsIndexError):
        rollback(es, alias)

    assert versioned_indices(es, alias) == []


def test_build_rejects_invalid_limits(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()

    with pytest.raises(ValueError, match="keep must be 1 or more"):
        build(es, catalog_docs(), alias=alias, keep=0)
    with pytest.raises(ValueError, match="max_failures must be 0 or more"):
        build(es, catalog_docs(), alias=alias, max_failures=-1)


def test_swap_alias_detects_moved_alias(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    first = build(es, catalog_docs(), alias=alias)
    other = f"{alias}-other"
    stale = f"{alias}-stale"
    es.indices.create(index=other)
    es.indices.create(index=stale)

    with pytest.raises(AliasChangedError, match="aliases_not_found_exception"):
        swap_alias(es, alias, other, (stale,))
    with pytest.raises(AliasChangedError, match="index_not_found_exception"):
        swap_alias(es, alias, other, (f"{alias}-20200101000000-abcdef",))

    assert live_indices(es, alias) == (first.index,)


def test_build_aborts_when_alias_moves(es: Elasticsearch, unique_name) -> None:
    alias = unique_name()
    first = build(es, catalog_docs(), alias=alias)
    intruder = f"{alias}-intruder"
    es.indices.create(index=intruder)
    moved: list[bool] = []

    def move_alias_once(_count: int) -> None:
        # Another process moves the alias while this build is loading docs.
        if not moved:
            swap_alias(es, alias, intruder, (first.index,))
            moved.append(True)

    with pytest.raises(AliasChangedError) as caught:
        build(es, catalog_docs(), alias=alias, progress=move_alias_once)

    assert first.index in str(caught.value)
    assert live_indices(es, alias) == (intruder,)
    assert [version.index for version in list_versions(es, alias)] == [intruder, first.index]
