"""Versioned catalog indices behind an alias: build, swap, rollback and partial updates."""

from indexing.aliases import RollbackResult, rollback, swap_alias
from indexing.build import BuildResult, build, create_index, prune_versions
from indexing.bulk import BulkResult, DocFailure, bulk_index
from indexing.documents import product_to_doc
from indexing.errors import (
    AliasChangedError,
    AliasIsIndexError,
    AliasStateError,
    AnalyzerNotAvailableError,
    BuildAbortedError,
    DocCountMismatchError,
    IndexingError,
    NoPreviousVersionError,
)
from indexing.mappings import POPULARITY_MISSING, index_body
from indexing.updates import UpdateResult, update_fields
from indexing.versions import IndexVersion, list_versions, live_indices

__all__ = [
    "POPULARITY_MISSING",
    "AliasChangedError",
    "AliasIsIndexError",
    "AliasStateError",
    "AnalyzerNotAvailableError",
    "BuildAbortedError",
    "BuildResult",
    "BulkResult",
    "DocCountMismatchError",
    "DocFailure",
    "IndexVersion",
    "IndexingError",
    "NoPreviousVersionError",
    "RollbackResult",
    "UpdateResult",
    "build",
    "bulk_index",
    "create_index",
    "index_body",
    "list_versions",
    "live_indices",
    "product_to_doc",
    "prune_versions",
    "rollback",
    "swap_alias",
    "update_fields",
]
