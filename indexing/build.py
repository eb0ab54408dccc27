"""Build of a new catalog index version, alias swap and pruning of old versions."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch, TransportError

from indexing.aliases import check_alias_name, swap_alias
from indexing.bulk import DocFailure, Progress, bulk_index
from indexing.errors import (
    AnalyzerNotAvailableError,
    BuildAbortedError,
    DocCountMismatchError,
    IndexingError,
)
from indexing.mappings import index_body
from indexing.versions import list_versions, live_indices, new_index_name
from settings import get_settings

logger = logging.getLogger(__name__)

# Versions kept besides the live one, so that rollback has somewhere to go.
DEFAULT_KEEP = 2

# Refresh interval of a finished index. Refreshing is off while the bulk load runs,
# because no search reads the new index before the alias swap.
REFRESH_INTERVAL = "1s"


@dataclass(frozen=True)
class BuildResult:
    """A finished build: the new live index and what happened to the older ones."""

    alias: str
    index: str
    doc_count: int
    failures: tuple[DocFailure, ...]
    # Indices the alias pointed to before the swap, kept for rollback.
    previous_indices: tuple[str, ...]
    deleted_indices: tuple[str, ...]
    elapsed_s: float


def build(
    es: Elasticsearch,
    docs: Iterable[Mapping[str, Any]],
    *,
    alias: str | None = None,
    title_analyzer: str | None = None,
    chunk_size: int | None = None,
    max_failures: int = 0,
    keep: int = DEFAULT_KEEP,
    shards: int = 1,
    replicas: int = 0,
    progress: Progress | None = None,
) -> BuildResult:
    """Index docs into a new version of `alias`, swap the alias to it and prune old versions.

    The alias is swapped only when at most `max_failures` docs failed and the refreshed index
    contains exactly the docs that did not fail. Otherwise the new index is deleted, the alias
    stays where it was, and BuildAbortedError (with every failure) or DocCountMismatchError
    is raised. After the swap, versions beyond the live one and the `keep` newest others
    are deleted. `alias`, `title_analyzer` and `chunk_size` default to the settings.
    """
    settings = get_settings()
    alias = alias if alias is not None else settings.index_alias
    title_analyzer = title_analyzer if title_analyzer is not None else settings.title_analyzer
    chunk_size = chunk_size if chunk_size is not None else settings.bulk_chunk_size
    if max_failures < 0:
        raise ValueError(f"max_failures must be 0 or more, got {max_failures}.")
    if keep < 1:
        raise ValueError(f"keep must be 1 or more so that rollback is possible, got {keep}.")

    started = time.monotonic()
    check_alias_name(es, alias)
    old_indices = live_indices(es, alias)

    index = create_index(es, alias, title_analyzer, shards=shards, replicas=replicas)

    try:
        result = bulk_index(es, index, docs, chunk_size=chunk_size, progress=progress)

        es.indices.put_settings(
            index=index, settings={"index": {"refresh_interval": REFRESH_INTERVAL}}
        )
        es.indices.refresh(index=index)

        if len(result.failures) > max_failures:
            raise BuildAbortedError(index, alias, result.failures, max_failures, old_indices)

        expected = result.total - len(result.failures)
        doc_count = es.count(index=index)["count"]
        if doc_count != expected:
            raise DocCountMismatchError(index, expected, doc_count)

        swap_alias(es, alias, index, old_indices)
    except BaseException:
        # BaseException also covers KeyboardInterrupt. A half-built index must not stay
        # behind, because rollback would take it for a complete version.
        _delete_quietly(es, index)
        raise

    deleted = prune_versions(es, alias, keep=keep)

    elapsed_s = time.monotonic() - started
    logger.info(
        "Built %s with %d doc(s) in %.1f s and %d failed doc(s). Alias %s moved from %s.",
        index,
        doc_count,
        elapsed_s,
        len(result.failures),
        alias,
        ", ".join(old_indices) or "no index",
    )
    return BuildResult(
        alias=alias,
        index=index,
        doc_count=doc_count,
        failures=result.failures,
        previous_indices=old_indices,
        deleted_indices=deleted,
        elapsed_s=elapsed_s,
    )


def create_index(
    es: Elasticsearch, alias: str, title_analyzer: str, *, shards: int = 1, replicas: int = 0
) -> str:
    """Create an empty new version of `alias` with the catalog mappings and return its name.

    Raises AnalyzerNotAvailableError when the cluster has no analyzer `title_analyzer`.
    """
    index = new_index_name(alias)
    body = index_body(title_analyzer, shards=shards, replicas=replicas, refresh_interval="-1")

    try:
        es.indices.create(index=index, settings=body["settings"], mappings=body["mappings"])
    except BadRequestError as error:
        # Elasticsearch 8.19 rejects the mapping with
        # "analyzer [english] has not been configured in mappings".
        if f"analyzer [{title_analyzer}] has not been configured" in str(error):
            raise AnalyzerNotAvailableError(title_analyzer, index) from error
        raise IndexingError(f"Creating index '{index}' failed: {error}") from error

    logger.info("Created index %s with title analyzer %s.", index, title_analyzer)
    return index


def prune_versions(es: Elasticsearch, alias: str, *, keep: int = DEFAULT_KEEP) -> tuple[str, ...]:
    """Delete the versions of `alias` older than the live ones and the `keep` newest others.

    Only indices named like a version of this alias are deleted, and never one that the
    alias points to. Returns the names of the deleted indices.
    """
    versions = list_versions(es, alias)
    others = [version for version in versions if not version.live]

    deleted = []
    for version in others[keep:]:
        if _delete_quietly(es, version.index):
            deleted.append(version.index)

    return tuple(deleted)


def _delete_quietly(es: Elasticsearch, index: str) -> bool:
    try:
        es.indices.delete(index=index)
    except (ApiError, TransportError) as error:
        logger.warning("Deleting index %s failed: %s", index, error)
        return False

    logger.info("Deleted index %s.", index)
    return True
